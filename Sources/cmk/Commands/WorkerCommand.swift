import CMKCore
import CMKHost
import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#else
    #error("cmk needs Glibc or Musl")
#endif

/// `cmk __worker --sha256 DIGEST PATH` (internal): loads one provider and answers one request
/// from stdin.
///
/// This is the other end of `--isolate`: if the provider crashes or hangs, only this process
/// dies or is killed, and the parent cmk reports it. The library is loaded only if the file at
/// PATH (no symlink followed: the host passes the resolved path) still has the sha256 the host
/// vetted, and it is loaded through the descriptor that was hashed. Exit status 0: stdout is the
/// provider's reply as it sent it; 1: stdout is an error reply saying what went wrong here.
enum WorkerCommand {
    static func run(_ arguments: [String]) async -> ExitStatus {
        guard arguments.count == 3, arguments[0] == IsolatedChannel.digestOption else {
            writeOut(
                Array(#"{"error":{"code":"bad-request","message":"usage: cmk __worker --sha256 DIGEST PATH"}}"#.utf8)
            )
            return .usage
        }
        WorkerLifetime.begin()
        defer { WorkerLifetime.killDescendants() }
        let (digest, library) = (arguments[1], arguments[2])
        let request = readStandardInput()
        let loaded = load(library, digest: digest)
        if request == Array(#"{"op":"_descriptor"}"#.utf8) {
            writeOut(Array(encodeJSON(WorkerDescriptorReply(loaded: loaded)).utf8))
            return .ready
        }
        let provider: LoadedProvider
        switch loaded {
        case .success(let value): provider = value
        case .failure(let error):
            // It loaded for discovery and not now (replaced or removed meanwhile): say why.
            writeOut(Array(encodeJSON(ErrorReply(error: .failed("it no longer loads: \(error.reason)"))).utf8))
            return .failure
        }
        do {
            // The parent enforces the deadline; this one only bounds a worker left behind.
            let reply = try await provider.channel.call(request, timeout: .seconds(3600))
            // The bytes as the provider sent them: the host judges them (UTF-8, size), as in process.
            writeOut(reply)
            return .ready
        } catch {
            writeOut(Array(encodeJSON(ErrorReply(error: .failed(error.reason))).utf8))
            return .failure
        }
    }

    /// Opens the file once, checks that it is the one the host vetted, and loads that descriptor.
    private static func load(_ library: String, digest: String) -> Result<LoadedProvider, LoadError> {
        VettedLibrary.open(library, followSymlinks: false).flatMap { vetted in
            guard let actual = try? vetted.digest() else {
                return .failure(LoadError(.openFailed, path: library, reason: "cannot read it to check its sha256"))
            }
            guard actual == digest.lowercased() else {
                return .failure(
                    LoadError(
                        .checksumMismatch,
                        path: library,
                        reason:
                            "refused: its sha256 is \(actual), not \(digest) as when cmk checked it: the file was replaced meanwhile"
                    )
                )
            }
            return ProviderLoader.load(vetted)
        }
    }

    private static func readStandardInput() -> [UInt8] {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress, $0.count) }
            if count > 0 { bytes += buffer[0..<count] } else if count == 0 || errno != EINTR { return bytes }
        }
    }

    private static func writeOut(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 && errno == EINTR { continue }
            if written <= 0 { return }
            offset += written
        }
    }
}
