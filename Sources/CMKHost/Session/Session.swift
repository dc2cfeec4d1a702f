package import CMKCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#else
    #error("cmk needs Glibc or Musl")
#endif

/// One run of `cmk`: the environment, the config, and the providers found.
package struct Session: Sendable {
    package var environment: [String: String]
    package var config: ConfigFile
    package var catalog: ProviderCatalog

    package init(environment: [String: String], config: ConfigFile, catalog: ProviderCatalog) {
        self.environment = environment
        self.config = config
        self.catalog = catalog
    }

    /// Reads the config and discovers the providers, in process or each in its own worker.
    ///
    /// Isolation: `isolateFlag` (`--isolate`) beats `CMK_ISOLATE`, which beats `isolate =` in the config.
    package static func start(environment: [String: String], isolateFlag: Bool = false) async throws(ConfigError)
        -> Session
    {
        var environment = environment
        let config = try ConfigFile.load(environment: environment)
        try applyCABundle(config, to: &environment)
        let paths = [environment[PluginSearchPath.environmentVariable], config.values["plugin-path"]].compactMap { $0 }
        let searchPath = PluginSearchPath(
            pluginPath: paths.joined(separator: ":"),
            executableDirectory: executableDirectory()
        )
        let trust = TrustPolicy(pins: config.sections["pins"] ?? [:])
        let isolate = isolateFlag || isTrue(environment["CMK_ISOLATE"] ?? config.values["isolate"])
        let catalog: ProviderCatalog
        if isolate, let executable = executablePath() {
            catalog = await ProviderCatalog.discover(searchPath: searchPath, trust: trust) { library in
                await IsolatedChannel.load(library, executable: executable, environment: environment)
            }
        } else {
            catalog = await ProviderCatalog.discover(searchPath: searchPath, trust: trust)
        }
        return Session(environment: environment, config: config, catalog: catalog)
    }

    /// `ca-bundle =` in the config stands for `CMK_CA_BUNDLE` (which beats it), for in-process
    /// providers (the process environment) and workers (the environment they are given) alike.
    private static func applyCABundle(_ config: ConfigFile, to environment: inout [String: String])
        throws(ConfigError)
    {
        guard environment[HTTPClient.caBundleVariable]?.isEmpty ?? true, let path = config.values["ca-bundle"],
            !path.isEmpty
        else { return }
        if let problem = HTTPClient.caBundleProblem(path) {
            throw ConfigError(path: config.path ?? "config", line: nil, reason: "ca-bundle = \(path): \(problem)")
        }
        environment[HTTPClient.caBundleVariable] = path
        setenv(HTTPClient.caBundleVariable, path, 1)
    }

    /// The provider named on the command line, in `CMK_PROVIDER` or in the config, with where it came from.
    package func explicitProvider(flag: String?) -> (name: String, source: String)? {
        if let flag { return (flag, "--provider") }
        if let value = environment["CMK_PROVIDER"], !value.isEmpty { return (value, "CMK_PROVIDER") }
        if let value = config.values["provider"], !value.isEmpty, let path = config.path {
            return (value, "provider in \(path)")
        }
        return nil
    }

    package enum Selection: Sendable {
        /// A provider was chosen (explicitly, or by detection).
        case selected(LoadedProvider, source: String, detection: Detection?, report: DetectionReport?)
        /// The chosen name matches no loaded provider.
        case notInstalled(name: String, source: String)
        /// Nothing chosen and nothing detected.
        case undetected(DetectionReport)
    }

    /// Picks the provider: explicit first, then detection over one snapshot.
    ///
    /// `optionHints` are provider options given on the command line: when nothing else decides
    /// and exactly one provider takes all of them, that provider is the one meant. With an
    /// explicit choice only that provider's detection runs, unless `reportAll` asks for every
    /// provider's verdict (`cmk detect` shows them).
    package func select(flag: String?, probe: Bool, optionHints: [String] = [], reportAll: Bool = false) async
        -> Selection
    {
        if let (name, source) = explicitProvider(flag: flag) {
            guard let provider = catalog.provider(named: name) else { return .notInstalled(name: name, source: source) }
            // An explicit choice still gets the provider's own detection: it carries facts (region, cloud).
            let report = await PlatformDetector.detect(
                providers: reportAll ? catalog.providers : [provider],
                snapshot: snapshot(),
                probe: probe
            )
            let detection = report.candidates.first { $0.provider == name }?.detection
            return .selected(
                provider,
                source: source,
                detection: detection?.strength == .strong ? detection : nil,
                report: report
            )
        }
        let report = await PlatformDetector.detect(providers: catalog.providers, snapshot: snapshot(), probe: probe)
        if let chosen = report.chosen, let provider = catalog.provider(named: chosen.provider) {
            return .selected(provider, source: "detection", detection: chosen.detection, report: report)
        }
        if !optionHints.isEmpty {
            var takers: [LoadedProvider] = []
            for provider in catalog.providers {
                let names = Set((try? await options(of: provider))?.map(\.name) ?? [])
                if optionHints.allSatisfy(names.contains) { takers.append(provider) }
            }
            if takers.count == 1 {
                let hint = optionHints.map { "--\($0)" }.joined(separator: ", ")
                return .selected(
                    takers[0],
                    source: "\(hint) (an option only '\(takers[0].name)' takes)",
                    detection: nil,
                    report: report
                )
            }
        }
        return .undetected(report)
    }

    package func snapshot() -> PlatformSnapshot { SnapshotCollector.collect(environment: environment) }

    /// The options a provider declares (`describe`); a provider that does not answer `describe` has none.
    package func options(of provider: LoadedProvider) async throws(ProviderCallError) -> [ProviderOption] {
        do {
            return try await provider.request(
                .describe,
                Optional<Empty>.none,
                as: DescribeReply.self,
                timeout: .seconds(5)
            ).options
        } catch  where error.providerError?.code == .unsupported {
            return []
        }
    }

    /// Option values for a provider: flag beats environment beats the provider's config section.
    package func resolveOptions(_ declared: [ProviderOption], flags: [String: String], provider: String) -> [String:
        String]
    {
        var values: [String: String] = [:]
        let section = config.sections[provider] ?? [:]
        for option in declared {
            if let value = flags[option.name] {
                values[option.name] = value
            } else if let variable = option.environment, let value = environment[variable], !value.isEmpty {
                values[option.name] = value
            } else if let value = section[option.name] {
                values[option.name] = value
            }
        }
        return values
    }
}

private func isTrue(_ value: String?) -> Bool {
    guard let value = value?.lowercased() else { return false }
    return ["1", "true", "yes", "on"].contains(value)
}

/// An empty payload (`{"op": "describe"}`).
package struct Empty: Codable, Sendable {}
