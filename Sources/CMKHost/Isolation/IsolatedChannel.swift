import CMKCore
import FoundationEssentials

/// Calls a provider in a child process: the same `cmk` binary re-executed as a worker
/// (`cmk __worker PATH`), speaking the same JSON on stdin and stdout.
///
/// A provider that crashes, aborts or hangs then kills or stalls only its worker; the host turns
/// that into an error in the report. Each call is one short-lived worker: no state to go stale.
package struct IsolatedChannel: ProviderChannel {
    package static let workerCommand = "__worker"

    package var library: String
    package var executable: String
    package var environment: [String: String]

    package init(library: String, executable: String, environment: [String: String]) {
        self.library = library
        self.executable = executable
        // The Swift backtracer would spend a second symbolicating a crash nobody reads.
        self.environment = environment.merging(["SWIFT_BACKTRACE": "enable=no"]) { given, _ in given }
    }

    package func call(_ request: [UInt8], timeout: Duration) async throws(ProviderCallError) -> [UInt8] {
        let output: Subprocess.Output
        do {
            output = try await Subprocess.run(
                executable,
                [Self.workerCommand, library],
                environment: environment,
                input: request,
                deadline: .now + timeout
            )
        } catch  where error.code == .timedOut {
            throw ProviderCallError(.timedOut, "no reply within \(timeout); its worker process was stopped")
        } catch {
            throw ProviderCallError(.unavailable, "cannot start a worker: \(error.reason)")
        }
        // Swift's runtime says why it stopped in a "Fatal error: …" line; C code says what it says last.
        let lines = String(decoding: output.stderr, as: UTF8.self).split(separator: "\n")
        let lastWords = (lines.first { $0.contains("Fatal error") } ?? lines.last).map { ": \($0)" } ?? ""
        if let signal = output.signal {
            throw ProviderCallError(.crashed, "crashed (signal \(signal)\(signalName(signal)))\(lastWords)")
        }
        guard output.status == 0 else {
            throw ProviderCallError(.crashed, "its worker exited with status \(output.status)\(lastWords)")
        }
        guard !output.stdout.isEmpty else { throw ProviderCallError(.malformedReply, "its worker sent no reply") }
        return output.stdout
    }

    /// Asks a worker to load `library` and describe it, without loading it here.
    package static func load(_ library: String, executable: String, environment: [String: String]) async -> Result<
        LoadedProvider, LoadError
    > {
        let channel = IsolatedChannel(library: library, executable: executable, environment: environment)
        let reply: [UInt8]
        do {
            reply = try await channel.call(Array(#"{"op":"_descriptor"}"#.utf8), timeout: .seconds(10))
        } catch {
            return .failure(LoadError(.openFailed, path: library, reason: "isolated load failed: \(error.reason)"))
        }
        guard let answer = try? JSONDecoder().decode(WorkerDescriptorReply.self, from: Data(reply)) else {
            return .failure(LoadError(.openFailed, path: library, reason: "isolated load gave an unreadable answer"))
        }
        if let failure = answer.loadError {
            return .failure(LoadError(LoadError.Code(name: failure.code), path: library, reason: failure.reason))
        }
        guard let descriptor = answer.descriptor else {
            return .failure(LoadError(.openFailed, path: library, reason: "isolated load gave no descriptor"))
        }
        return .success(
            LoadedProvider(
                name: descriptor.name,
                version: descriptor.version,
                summary: descriptor.description,
                abiVersion: descriptor.abi,
                structSize: descriptor.size,
                path: library,
                channel: channel
            )
        )
    }
}

/// The worker's answer to `{"op":"_descriptor"}`: what the host reads from the struct in process.
package struct WorkerDescriptorReply: Codable, Sendable {
    package struct Descriptor: Codable, Sendable {
        package var name: String
        package var version: String
        package var description: String
        package var abi: UInt32
        package var size: UInt32
    }

    package struct Failure: Codable, Sendable {
        package var code: String
        package var reason: String
    }

    package var descriptor: Descriptor?
    package var loadError: Failure?

    package init(loaded: Result<LoadedProvider, LoadError>) {
        switch loaded {
        case .success(let provider):
            descriptor = Descriptor(
                name: provider.name,
                version: provider.version,
                description: provider.summary,
                abi: provider.abiVersion,
                size: provider.structSize
            )
        case .failure(let error):
            loadError = Failure(code: error.code.name, reason: error.reason)
        }
    }
}

private func signalName(_ signal: Int32) -> String {
    switch signal {
    case 4: ", SIGILL"
    case 5: ", SIGTRAP"
    case 6: ", SIGABRT"
    case 9: ", SIGKILL"
    case 11: ", SIGSEGV"
    default: ""
    }
}
