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
    /// Every setting is checked where it is read, and a bad one names its source: a typo in the
    /// environment or the config must not silently change what cmk does.
    package static func start(environment: [String: String], isolateFlag: Bool = false) async throws -> Session {
        var environment = environment
        let config = try ConfigFile.load(environment: environment)
        try applyCABundle(config, to: &environment)
        if let root = environment[SnapshotCollector.rootEnvironmentVariable], !root.isEmpty, !isDirectory(root) {
            throw SettingError("\(SnapshotCollector.rootEnvironmentVariable)=\(root): no such directory")
        }
        var searchPath = PluginSearchPath(pluginPath: nil, executableDirectory: executableDirectory())
        searchPath.directories.insert(contentsOf: searchDirectories(environment: environment, config: config), at: 0)
        let trust = TrustPolicy(pins: config.sections["pins"] ?? [:], pinSource: config.path)
        let isolate = try isolateFlag || isolation(environment: environment, config: config)
        let catalog: ProviderCatalog
        if isolate, let executable = executablePath() {
            catalog = await ProviderCatalog.discover(searchPath: searchPath, trust: trust) { library in
                await IsolatedChannel.load(library, executable: executable, environment: environment)
            }
        } else {
            catalog = await ProviderCatalog.discover(searchPath: searchPath, trust: trust)
        }
        var session = Session(environment: environment, config: config, catalog: catalog)
        session.searchPath = searchPath
        return session
    }

    /// `CMK_PLUGIN_PATH`'s directories, then the config's `plugin-path`, each with where it came from.
    ///
    /// A relative `plugin-path` is taken from the config file's directory, never the current one:
    /// running cmk in a directory someone else wrote must not load their libraries.
    private static func searchDirectories(environment: [String: String], config: ConfigFile)
        -> [PluginSearchPath.Directory]
    {
        var directories: [PluginSearchPath.Directory] = []
        for entry in (environment[PluginSearchPath.environmentVariable] ?? "").split(separator: ":") where !entry.isEmpty {
            directories.append(.init(path: String(entry), explicit: true))
        }
        let configDirectory = config.path.map { path in
            path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        }
        for entry in (config.values["plugin-path"] ?? "").split(separator: ":") where !entry.isEmpty {
            var path = String(entry)
            if !path.hasPrefix("/"), let configDirectory { path = "\(configDirectory)/\(path)" }
            directories.append(.init(path: path, explicit: true, origin: "plugin-path at \(config.location(of: "plugin-path"))"))
        }
        return directories
    }

    /// `CMK_ISOLATE` beats `isolate =`; anything but a clear yes or no is an error naming where it was.
    private static func isolation(environment: [String: String], config: ConfigFile) throws -> Bool {
        if let raw = environment["CMK_ISOLATE"], !raw.isEmpty {
            guard let value = parseBoolean(raw) else {
                throw SettingError("CMK_ISOLATE=\(raw): \(booleanHint)")
            }
            return value
        }
        guard let raw = config.values["isolate"] else { return false }
        guard let value = parseBoolean(raw) else {
            throw ConfigError(path: config.path ?? "config", line: config.lines["isolate"], reason: "isolate = \(raw): \(booleanHint)")
        }
        return value
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
            throw ConfigError(path: config.path ?? "config", line: config.lines["ca-bundle"], reason: "ca-bundle = \(path): \(problem)")
        }
        environment[HTTPClient.caBundleVariable] = path
        setenv(HTTPClient.caBundleVariable, path, 1)
    }

    /// Where providers were looked for, in order (for `cmk providers`).
    package var searchPath = PluginSearchPath(directories: [])

    /// The provider named on the command line, in `CMK_PROVIDER` or in the config, with where it came from.
    ///
    /// Names are compared without case: `--provider AWS` means `aws`.
    package func explicitProvider(flag: String?) -> (name: String, source: SelectionSource)? {
        if let flag { return (flag.lowercased(), SelectionSource(.flag, "--provider")) }
        if let value = environment["CMK_PROVIDER"], !value.isEmpty {
            return (value.lowercased(), SelectionSource(.environment, "CMK_PROVIDER"))
        }
        if let value = config.values["provider"], !value.isEmpty {
            return (value.lowercased(), SelectionSource(.config, "provider = \(value) at \(config.location(of: "provider"))"))
        }
        return nil
    }

    package enum Selection: Sendable {
        /// A provider was chosen (explicitly, or by detection).
        case selected(LoadedProvider, source: SelectionSource, detection: Detection?, report: DetectionReport?)
        /// The chosen name matches no loaded provider.
        case notInstalled(name: String, source: SelectionSource)
        /// Nothing chosen and nothing detected.
        case undetected(DetectionReport)
    }

    /// Picks the provider: explicit first, then detection over one snapshot.
    ///
    /// `optionHints` are provider options given on the command line: when nothing else decides
    /// and exactly one provider takes all of them, that provider is the one meant. With an
    /// explicit choice only that provider's detection runs, unless `reportAll` asks for every
    /// provider's verdict (`cmk detect` shows them).
    package func select(
        flag: String?,
        probe: Bool,
        optionHints: [String] = [],
        reportAll: Bool = false,
        timeout: Duration = PlatformDetector.perProviderTimeout
    ) async -> Selection {
        if let (name, source) = explicitProvider(flag: flag) {
            guard let provider = catalog.provider(named: name) else { return .notInstalled(name: name, source: source) }
            // An explicit choice still gets the provider's own detection: it carries facts (region, cloud).
            let report = await PlatformDetector.detect(
                providers: reportAll ? catalog.providers : [provider],
                snapshot: snapshot(),
                probe: probe,
                timeout: timeout
            )
            let detection = report.candidates.first { $0.provider == name }?.detection
            return .selected(
                provider,
                source: source,
                detection: detection?.strength == .strong ? detection : nil,
                report: report
            )
        }
        let report = await PlatformDetector.detect(
            providers: catalog.providers,
            snapshot: snapshot(),
            probe: probe,
            timeout: timeout
        )
        if let chosen = report.chosen, let provider = catalog.provider(named: chosen.provider) {
            let detail = "detected: \(chosen.detection?.platform ?? chosen.provider)"
            return .selected(provider, source: SelectionSource(.detection, detail), detection: chosen.detection, report: report)
        }
        if !optionHints.isEmpty {
            var takers: [LoadedProvider] = []
            for provider in catalog.providers {
                let names = Set((try? await options(of: provider, timeout: timeout))?.map(\.name) ?? [])
                if optionHints.allSatisfy(names.contains) { takers.append(provider) }
            }
            if takers.count == 1 {
                let hint = optionHints.map { "--\($0)" }.joined(separator: ", ")
                return .selected(
                    takers[0],
                    source: SelectionSource(.option, "\(hint), an option only '\(takers[0].name)' takes"),
                    detection: nil,
                    report: report
                )
            }
        }
        return .undetected(report)
    }

    package func snapshot() -> PlatformSnapshot { SnapshotCollector.collect(environment: environment) }

    /// The options a provider declares (`describe`); a provider that does not answer `describe` has none.
    package func options(of provider: LoadedProvider, timeout: Duration = .seconds(5)) async throws(ProviderCallError)
        -> [ProviderOption]
    {
        do {
            return try await provider.request(
                .describe,
                Optional<Empty>.none,
                as: DescribeReply.self,
                timeout: timeout
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

/// `1/true/yes/on` or `0/false/no/off`, any case; nil for anything else.
package func parseBoolean(_ raw: String) -> Bool? {
    switch raw.trimmingWhitespace().lowercased() {
    case "1", "true", "yes", "on": true
    case "0", "false", "no", "off": false
    default: nil
    }
}

private let booleanHint = "must be true or false (also 1/0, yes/no, on/off)"

private func isDirectory(_ path: String) -> Bool {
    var info = stat()
    return stat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR
}

/// How the provider was chosen: for scripts (`kind`) and for people (`detail`).
package struct SelectionSource: Sendable, Equatable, Encodable, CustomStringConvertible {
    package enum Kind: String, Sendable, Encodable {
        case flag, environment, config, detection, option
    }
    package var kind: Kind
    /// `--provider`, `CMK_PROVIDER`, `provider = azure at /home/a/.config/cmk/config:2`, `detected: …`.
    package var detail: String

    package init(_ kind: Kind, _ detail: String) {
        self.kind = kind
        self.detail = detail
    }

    package var description: String { detail }
}

/// A setting in the environment with a value cmk cannot use (exit 64); the message names the variable.
package struct SettingError: Error, Sendable, CustomStringConvertible {
    package var description: String
    package init(_ description: String) { self.description = description }
}

/// An empty payload (`{"op": "describe"}`).
package struct Empty: Codable, Sendable {}
