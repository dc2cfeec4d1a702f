/// Signs in once per audience for the whole run, each audience in parallel.
///
/// The first caller for a resource starts the sign-in; later callers await the same task. The
/// chain is walked per audience: an unavailable credential passes to the next, a failing one stops.
/// Each credential's tokens come from `shared` (kept across runs while valid) when it is given.
actor TokenCache {
    private let chain: CredentialChain
    private let http: AzureHTTP
    private let shared: SignInCache?
    private var tasks: [String: Task<Result<AccessToken, CallFailure>, Never>] = [:]
    /// The credentials that produced a token, in the order they did.
    private var used: [String] = []

    init(chain: CredentialChain, http: AzureHTTP, shared: SignInCache? = nil) {
        self.chain = chain
        self.http = http
        self.shared = shared
    }

    func token(for resource: String) async -> Result<AccessToken, CallFailure> {
        if let task = tasks[resource] { return await task.value }
        let task = Task { await signIn(resource) }
        tasks[resource] = task
        return await task.value
    }

    /// The sign-ins that failed (not those that were merely unavailable), one per audience tried.
    func failures() async -> [CallFailure] {
        var failures: [CallFailure] = []
        for task in tasks.values {
            if case .failure(let failure) = await task.value, failure.code != .unavailable { failures.append(failure) }
        }
        return failures
    }

    /// What the report's `credential` line says.
    func credentialName() -> String? { used.isEmpty ? nil : used.joined(separator: ", ") }

    private func signIn(_ resource: String) async -> Result<AccessToken, CallFailure> {
        var reasons: [String] = []
        for credential in chain.candidates {
            let http = http
            let answer: Result<AccessToken, CallFailure>
            if let shared {
                answer = await shared.token(for: "\(await credential.identity())|\(resource)") {
                    await credential.token(for: resource, http: http)
                }
            } else {
                answer = await credential.token(for: resource, http: http)
            }
            switch answer {
            case .success(let token):
                if !used.contains(credential.name) { used.append(credential.name) }
                return .success(token)
            case .failure(let failure) where failure.code == .unavailable:
                reasons.append(failure.reason)
            case .failure(let failure):
                return .failure(failure)
            }
        }
        return .failure(CallFailure(.unavailable, "no credential worked: " + reasons.joined(separator: "; ")))
    }
}
