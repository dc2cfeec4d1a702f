import CMKCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#else
    #error("the Azure provider's file reading needs Glibc or Musl")
#endif

/// Why a file named by the environment could not be read; the reason names the variable.
struct TextFileError: Error, Sendable {
    var reason: String
}

/// The text of a small regular file named by environment variable `variable` (at most `limit`
/// bytes): the federated token file is all the provider reads from disk.
///
/// Opened with O_NONBLOCK and checked with fstat, so that a FIFO (or a device) in the variable is
/// refused at once instead of blocking in open(2); read on a thread of its own, so that even a
/// slow file system never holds one of the cooperative pool's two threads.
func readTextFile(_ path: String, namedBy variable: String, limit: Int = 1 << 20) async -> Result<
    String, TextFileError
> {
    await runOnOwnThread { readBlocking(path, namedBy: variable, limit: limit) }
}

private func readBlocking(_ path: String, namedBy variable: String, limit: Int) -> Result<String, TextFileError> {
    let file: OpenedFile
    switch OpenedFile.open(path) {
    case .success(let opened): file = opened
    case .failure(let refusal): return .failure(TextFileError(reason: "\(variable)=\(refusal.reason)"))
    }
    let bytes: [UInt8]
    switch file.contents(limit: limit) {
    case .success(let read): bytes = read
    case .failure(.tooLarge(let size)):
        return .failure(
            TextFileError(reason: "\(variable)=\(path) is \(size) bytes, more than the \(limit >> 10) KiB allowed")
        )
    case .failure(.failed(let reason)):
        return .failure(TextFileError(reason: "\(variable)=\(path): cannot read: \(reason)"))
    }
    guard let text = String(validating: bytes, as: UTF8.self) else {
        return .failure(TextFileError(reason: "\(variable)=\(path) is not UTF-8 text"))
    }
    return .success(text)
}
