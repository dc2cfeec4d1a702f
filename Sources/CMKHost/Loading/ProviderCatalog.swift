/// The providers found on the search path, and what went wrong with the others.
package struct ProviderCatalog: Sendable {
    package var providers: [LoadedProvider]
    /// One per file or directory that was skipped; none of them stops the good providers.
    package var problems: [LoadError]

    package init(providers: [LoadedProvider], problems: [LoadError]) {
        self.providers = providers
        self.problems = problems
    }

    /// Finds and loads every provider; the first library on the path wins a name.
    package static func discover(
        searchPath: PluginSearchPath,
        trust: TrustPolicy?,
        load: (String) async -> Result<LoadedProvider, LoadError> = ProviderLoader.load
    ) async -> ProviderCatalog {
        let (files, directoryProblems) = searchPath.candidates(trust: trust)
        var providers: [LoadedProvider] = []
        var problems = directoryProblems
        var seenFiles = Set<String>()
        for file in files {
            // The same file reached through two directories (a symlink, a repeated entry) is one provider.
            guard seenFiles.insert(realPath(file) ?? file).inserted else { continue }
            if let refusal = trust?.checkFile(file) {
                problems.append(refusal)
                continue
            }
            switch await load(file) {
            case .success(let provider):
                if let refusal = trust?.checkLoaded(name: provider.name, path: file) {
                    problems.append(refusal)
                } else if let first = providers.first(where: { $0.name == provider.name }) {
                    problems.append(
                        LoadError(
                            .duplicateName,
                            path: file,
                            reason:
                                "also claims provider '\(provider.name)', already loaded from \(first.path) (the first on the path wins)"
                        )
                    )
                } else {
                    providers.append(provider)
                }
            case .failure(let error):
                problems.append(error)
            }
        }
        return ProviderCatalog(providers: providers, problems: problems)
    }

    package func provider(named name: String) -> LoadedProvider? { providers.first { $0.name == name } }

    package var names: [String] { providers.map(\.name) }
}
