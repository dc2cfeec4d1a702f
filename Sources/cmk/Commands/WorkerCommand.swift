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

/// `cmk __worker PATH` (internal): loads one provider and answers one request from stdin.
///
/// This is the other end of `--isolate`: if the provider crashes or hangs, only this process
/// dies or is killed, and the parent cmk reports it.
enum WorkerCommand {
    static func run(_ arguments: [String]) async -> ExitStatus {
        guard arguments.count == 1, let library = arguments.first else {
            writeOut("{\"error\":{\"code\":\"bad-request\",\"message\":\"usage: cmk __worker PATH\"}}")
            return .usage
        }
        let request = readStandardInput()
        let loaded = ProviderLoader.load(library)
        if request == Array(#"{"op":"_descriptor"}"#.utf8) {
            writeOut(encodeJSON(WorkerDescriptorReply(loaded: loaded)))
            return .ready
        }
        let provider: LoadedProvider
        switch loaded {
        case .success(let value): provider = value
        case .failure(let error):
            // It loaded for discovery and not now (replaced or removed meanwhile): say why.
            writeOut(encodeJSON(ErrorReply(error: .failed("it no longer loads: \(error.reason)"))))
            return .failure
        }
        do {
            // The parent enforces the deadline; this one only bounds a worker left behind.
            let reply = try await provider.channel.call(request, timeout: .seconds(3600))
            writeOut(String(decoding: reply, as: UTF8.self))
            return .ready
        } catch {
            writeOut(
                String(
                    decoding: (try? JSONEncoder().encode(ErrorReply(error: .failed(error.reason)))) ?? Data(),
                    as: UTF8.self
                )
            )
            return .failure
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

    private static func writeOut(_ text: String) {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress! + offset, $0.count - offset) }
            if written <= 0 { return }
            offset += written
        }
    }
}
