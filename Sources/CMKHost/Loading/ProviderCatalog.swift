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
        load: (VettedLibrary) async -> Result<LoadedProvider, LoadError> = { ProviderLoader.load($0) }
    ) async -> ProviderCatalog {
        let (files, directoryProblems) = searchPath.candidates(trust: trust)
        var providers: [LoadedProvider] = []
        var problems = directoryProblems
        var seenFiles = Set<String>()
        for file in files {
            // The same file reached through two directories (a symlink, a repeated entry) is one provider.
            guard seenFiles.insert(realPath(file) ?? file).inserted else { continue }
            // Opened once: what is judged is what is loaded (a file renamed over the path after
            // the check is never the one that runs).
            let vetted = trust.map { $0.vet(file) } ?? VettedLibrary.open(file)
            let library: VettedLibrary
            switch vetted {
            case .success(let opened): library = opened
            case .failure(let refusal):
                problems.append(refusal)
                continue
            }
            switch await load(library) {
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
