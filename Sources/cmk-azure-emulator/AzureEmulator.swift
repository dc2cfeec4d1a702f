import LoopbackServer

/// The emulator's request handler: routing, faults, latency, the request log.
///
/// Requests arrive as `/{original host}/{path}` (what `CMK_ENDPOINT_OVERRIDE` makes of them);
/// `/_emulator/requests`, `/_emulator/token` and `/_emulator/scenario` are the emulator's own, for tests.
final class AzureEmulator: Sendable {
    static let vendorApplicationID = "251e3919-1940-4296-bb8b-6b9a5e8a4805"

    // ops (issue 11): the scenario may be replaced at run time (ScenarioSwitch), and
    // --latency-ms overrides the scenario's latencyMs.
    private let live: ScenarioSwitch
    private let latencyOverride: Int?
    var scenario: Scenario { live.scenario }
    let templates: FixtureTemplates
    let tokens = TokenIssuer()
    let log = RequestLog()

    init(scenario: Scenario, templates: FixtureTemplates, scenarios: String? = nil, latencyMs: Int? = nil) {
        live = ScenarioSwitch(scenario, directory: scenarios)
        latencyOverride = latencyMs
        self.templates = templates
    }

    func handle(_ request: ServerRequest) async -> ServerResponse {
        let trimmed = request.path.drop { $0 == "/" }
        let host = String(trimmed.prefix { $0 != "/" }).lowercased()
        let path = String(trimmed.dropFirst(host.count))
        if host == "_emulator" { return own(path, request) }
        let route = Route(
            method: request.method,
            host: host.split(separator: ":").first.map(String.init) ?? host,
            path: path
        )
        if let latency = latencyOverride ?? scenario.latencyMs, latency > 0 {
            try? await Task.sleep(for: .milliseconds(latency))
        }
        let response: ServerResponse
        if let fault = live.faults.take(route.id) {
            response = await apply(fault) ?? answer(route, host: host, request)
        } else {
            response = answer(route, host: host, request)
        }
        log.append(
            RequestLog.Entry(
                method: request.method,
                host: host,
                path: path,
                route: route.id,
                authorization: request.headers["authorization"] != nil,
                status: response.status,
                apiVersion: request.query["api-version"]
            )
        )
        return response
    }

    private func answer(_ route: Route, host: String, _ request: ServerRequest) -> ServerResponse {
        switch route {
        case .loginToken(let tenant): loginToken(tenant: tenant, request)
        case .instanceMetadata: instanceMetadata(request)
        case .metadataToken: metadataToken(request)
        case .appServiceToken: appServiceToken(request)
        case .subscriptions, .resources, .vault, .armKey, .armKeyVersion, .armKeys, .armSecrets, .deletedVaults,
            .roleAssignments, .denyAssignments, .permissions, .roleDefinition, .resourceGraph:
            management(route, host: host, request)
        case .servicePrincipal, .servicePrincipalGroups, .memberOf, .transitiveRoleAssignments, .roleEligibility:
            graph(route, host: host, request)
        case .vaultKey, .vaultKeys, .rotationPolicy, .deletedKey, .vaultObjects, .hsmRoles:
            keyVault(route, host: host, request)
        case .notFound: Self.error(404, "NotFound", "the emulator has no route for \(host)\(request.path)")
        }
    }

    /// A fault's response, or nil when it only adds delay.
    private func apply(_ fault: Scenario.Fault) async -> ServerResponse? {
        if let delay = fault.delayMs, delay > 0 { try? await Task.sleep(for: .milliseconds(delay)) }
        if fault.drop == true { return .dropConnection }
        if let location = fault.location {
            return Self.error(fault.status ?? 307, "Redirect", "moved", headers: ["Location": location])
        }
        if let status = fault.status {
            var headers: [String: String] = [:]
            if let seconds = fault.retryAfter { headers["Retry-After"] = String(seconds) }
            return Self.error(
                status,
                status == 429 ? "TooManyRequests" : "ServiceUnavailable",
                "injected fault",
                headers: headers
            )
        }
        if fault.malformed == true { return .json("{\"value\": [{\"id\": ") }
        return nil
    }

    /// `/_emulator/requests` (the log), `/_emulator/token?resource=…&kind=user|app` (a token to
    /// hand to a fake `az`) and `POST /_emulator/scenario?name=<name|file.json>` (another scenario
    /// from now on).
    private func own(_ path: String, _ request: ServerRequest) -> ServerResponse {
        switch path {
        case "/requests":
            return .json(log.json.text)
        case "/scenario":
            guard request.method == "POST", let name = request.query["name"], !name.isEmpty else {
                return Self.error(400, "BadRequest", "POST /_emulator/scenario?name=<scenario name or file.json>")
            }
            do {
                let scenario = try live.replace(with: name)
                return .json(JSONValue.object(["tenantId": .string(scenario.tenantId)]).text)
            } catch {
                return Self.error(400, "BadRequest", "\(error)")
            }
        case "/token":
            guard let resource = request.query["resource"] else {
                return Self.error(400, "BadRequest", "resource is required")
            }
            let isUser = request.query["kind"] != "app"
            let objectID = isUser ? scenario.user?.objectId : scenario.applications?.first?.objectId
            let token = tokens.issue(
                audience: resource,
                tenant: scenario.tenantId,
                objectID: objectID ?? "00000000-0000-0000-0000-000000000000",
                isUser: isUser
            )
            return .json(JSONValue.object(["accessToken": .string(token), "tenant": .string(scenario.tenantId)]).text)
        default:
            return Self.error(404, "NotFound", "no emulator endpoint \(path)")
        }
    }

    /// The `{"error":{"code","message"}}` body ARM, Graph and Key Vault use.
    static func error(
        _ status: Int,
        _ code: String,
        _ message: String,
        headers: [String: String] = [:]
    ) -> ServerResponse {
        .json(
            JSONValue.object(["error": .object(["code": .string(code), "message": .string(message)])]).text,
            status: status,
            headers: headers
        )
    }
}
