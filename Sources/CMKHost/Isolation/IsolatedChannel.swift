import CMKCore
import FoundationEssentials

/// Calls a provider in a child process: the same `cmk` binary re-executed as a worker
/// (`cmk __worker --sha256 DIGEST PATH`), speaking the same JSON on stdin and stdout.
///
/// A provider that crashes, aborts or hangs then kills or stalls only its worker; the host turns
/// that into an error in the report. Each call is one short-lived worker: no state to go stale.
/// The worker loads only a file whose sha256 is the one the host vetted (a file swapped after
/// the host's checks is refused there), and nothing it starts outlives it (`WorkerLifetime`).
package struct IsolatedChannel: ProviderChannel {
    package static let workerCommand = "__worker"
    package static let digestOption = "--sha256"

    /// Where the vetted inode is, symlinks resolved: the worker opens it without following any.
    package var library: String
    /// The vetted file's sha256: the worker loads the file only if it still has it.
    package var sha256: String
    package var executable: String
    package var environment: [String: String]

    package init(library: String, sha256: String, executable: String, environment: [String: String]) {
        self.library = library
        self.sha256 = sha256
        self.executable = executable
        // The Swift backtracer would spend a second symbolicating a crash nobody reads.
        self.environment = environment.merging(["SWIFT_BACKTRACE": "enable=no"]) { given, _ in given }
    }

    package func call(_ request: [UInt8], timeout: Duration) async throws(ProviderCallError) -> [UInt8] {
        let output: Subprocess.Output
        do {
            output = try await Subprocess.run(
                executable,
                [Self.workerCommand, Self.digestOption, sha256, library],
                environment: environment,
                input: request,
                deadline: .now + timeout,
                outputLimit: ProviderReply.maximumSize,
                // SIGTERM first: the worker kills what its provider started, then exits.
                stop: .terminate,
                killGroupAtExit: true
            )
        } catch  where error.code == .timedOut {
            throw ProviderCallError(.timedOut, "no reply within \(timeout); its worker process was stopped")
        } catch  where error.code == .outputTooLarge {
            throw ProviderReply.tooLarge(nil)
        } catch {
            throw ProviderCallError(.unavailable, "cannot start a worker: \(error.reason)")
        }
        // Swift's runtime says why it stopped in a "Fatal error: …" line; C code says what it says last.
        let lines = String(decoding: output.stderr, as: UTF8.self).split(separator: "\n")
        let lastWords = (lines.first { $0.contains("Fatal error") } ?? lines.last).map { ": \($0.prefix(300))" } ?? ""
        if let signal = output.signal {
            throw ProviderCallError(.crashed, "crashed (signal \(signal)\(signalName(signal)))\(lastWords)")
        }
        // Status 1 with an error reply: the worker itself says why the call failed (the library
        // no longer matches its digest, the reply was refused): the same words as in process.
        if output.status == 1, JSONNesting.isShallow(output.stdout),
            let failure = try? JSONDecoder().decode(ErrorReply.self, from: Data(output.stdout))
        {
            throw ProviderCallError(.unavailable, failure.error.message)
        }
        guard output.status == 0 else {
            throw ProviderCallError(.crashed, "its worker exited with status \(output.status)\(lastWords)")
        }
        guard !output.stdout.isEmpty else { throw ProviderCallError(.malformedReply, "its worker sent no reply") }
        return output.stdout
    }

    /// Asks a worker to load the vetted library and describe it, without loading it here.
    package static func load(_ vetted: VettedLibrary, executable: String, environment: [String: String]) async
        -> Result<LoadedProvider, LoadError>
    {
        let library = vetted.path
        let digest: String
        do {
            digest = try vetted.digest()
        } catch {
            return .failure(LoadError(.openFailed, path: library, reason: "cannot hash it for its worker: \(error)"))
        }
        // The worker re-opens the file by name, no symlink followed: the name is the path with its
        // symlinks resolved now. (Not the descriptor's own name: once a file is renamed over the
        // one that was opened, that name reads "… (deleted)".)
        let channel = IsolatedChannel(
            library: realPath(library) ?? library,
            sha256: digest,
            executable: executable,
            environment: environment
        )
        let reply: [UInt8]
        do {
            reply = try await channel.call(Array(#"{"op":"_descriptor"}"#.utf8), timeout: .seconds(10))
        } catch {
            return .failure(LoadError(.openFailed, path: library, reason: "isolated load failed: \(error.reason)"))
        }
        guard JSONNesting.isShallow(reply),
            let answer = try? JSONDecoder().decode(WorkerDescriptorReply.self, from: Data(reply))
        else {
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
