package import CMKCore

/// One provider's verdict, or why it gave none.
package struct DetectionCandidate: Sendable, Codable, Equatable {
    package var provider: String
    package var detection: Detection?
    package var error: String?
}

/// A known cloud whose provider is not installed.
package struct UnservedPlatform: Sendable, Codable, Equatable {
    package var provider: String
    package var name: String
    package var evidence: [String]
}

/// What `cmk detect` reports: the choice, every provider's verdict, and clouds with no provider.
package struct DetectionReport: Sendable {
    /// The detected provider, when exactly one strong verdict decided (or the strongest, first on the path).
    package var chosen: DetectionCandidate?
    package var candidates: [DetectionCandidate]
    package var unserved: [UnservedPlatform]
}

/// Runs every loaded provider's detection over one shared snapshot and picks one.
///
/// A weak verdict (an environment variable a laptop can have) is reported but never selects a
/// provider on its own: an admin would rather choose than be told the wrong cloud.
package enum PlatformDetector {
    /// Local detection is file reads; a confirming metadata probe has its own short deadline.
    package static let perProviderTimeout: Duration = .seconds(3)

    /// - Parameter timeout: how long each provider may take; at most what is left of the run.
    package static func detect(
        providers: [LoadedProvider],
        snapshot: PlatformSnapshot,
        probe: Bool,
        timeout: Duration = perProviderTimeout
    ) async -> DetectionReport {
        // Encoded once for every provider.
        let request = DetectionRequest(snapshot: snapshot, probe: probe).wireBytes()
        let verdicts = await withTaskGroup(of: (Int, DetectionCandidate).self) { group in
            for (index, provider) in providers.enumerated() {
                // Immediate: each provider's detection starts on this thread, and one that answers
                // inside its call (an off-cloud look at the snapshot) costs no hop to the pool. One
                // that waits (a metadata probe) suspends and the next provider starts meanwhile.
                group.addImmediateTask {
                    do {
                        let detection = try await provider.detect(encoded: request, timeout: timeout)
                        return (index, DetectionCandidate(provider: provider.name, detection: detection))
                    } catch {
                        return (index, DetectionCandidate(provider: provider.name, error: String(describing: error)))
                    }
                }
            }
            var collected: [(Int, DetectionCandidate)] = []
            for await verdict in group { collected.append(verdict) }
            return collected.sorted { $0.0 < $1.0 }.map(\.1)
        }
        let strongest = verdicts.filter { $0.detection?.strength == .strong }.first
        let served = Set(providers.map(\.name))
        let unserved = KnownCloud.all.compactMap { cloud -> UnservedPlatform? in
            guard !served.contains(cloud.provider) else { return nil }
            let evidence = cloud.evidence(in: snapshot)
            return evidence.isEmpty
                ? nil : UnservedPlatform(provider: cloud.provider, name: cloud.name, evidence: evidence)
        }
        return DetectionReport(chosen: strongest, candidates: verdicts, unserved: unserved)
    }
}
