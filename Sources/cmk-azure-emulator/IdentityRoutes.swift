import LoopbackServer

/// Sign-in: Entra's token endpoint, instance metadata, App Service's managed-identity endpoint.
extension AzureEmulator {
    func loginToken(tenant: String, _ request: ServerRequest) -> ServerResponse {
        let form = request.form
        guard tenant.lowercased() == scenario.tenantId.lowercased() else {
            return .json("{\"error\":\"invalid_request\",\"error_codes\":[90002]}", status: 400)
        }
        guard form["grant_type"] == "client_credentials", let scope = form["scope"], scope.hasSuffix("/.default") else {
            return .json("{\"error\":\"unsupported_grant_type\",\"error_codes\":[70003]}", status: 400)
        }
        let application = scenario.applications?.first { application in
            guard application.clientId == form["client_id"] else { return false }
            if let secret = form["client_secret"] { return secret == application.clientSecret }
            if let assertion = form["client_assertion"] {
                return form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
                    && assertion == application.federatedAssertion
            }
            return false
        }
        guard let application else {
            return .json("{\"error\":\"invalid_client\",\"error_codes\":[7000215]}", status: 401)
        }
        let token = tokens.issue(
            audience: String(scope.dropLast("/.default".count)),
            tenant: scenario.tenantId,
            objectID: application.objectId,
            isUser: false,
            lifetime: scenario.tokenLifetime
        )
        return .json(
            JSONValue.object([
                "token_type": .string("Bearer"), "expires_in": .number(3599), "ext_expires_in": .number(3599),
                "access_token": .string(token),
            ]).text
        )
    }

    func instanceMetadata(_ request: ServerRequest) -> ServerResponse {
        guard request.headers["metadata"] == "true" else { return metadataHeaderMissing() }
        guard let instance = scenario.instance else { return .dropConnection }
        return .json(instance.text)
    }

    func metadataToken(_ request: ServerRequest) -> ServerResponse {
        guard request.headers["metadata"] == "true" else { return metadataHeaderMissing() }
        return managedIdentityToken(resource: request.query["resource"])
    }

    func appServiceToken(_ request: ServerRequest) -> ServerResponse {
        guard let expected = scenario.managedIdentity?.identityHeader, request.headers["x-identity-header"] == expected
        else {
            return .json("{\"statusCode\":400,\"message\":\"X-IDENTITY-HEADER is missing or wrong\"}", status: 400)
        }
        return managedIdentityToken(resource: request.query["resource"])
    }

    private func managedIdentityToken(resource: String?) -> ServerResponse {
        guard let identity = scenario.managedIdentity else {
            return .json("{\"error\":\"invalid_request\",\"error_description\":\"Identity not found\"}", status: 400)
        }
        guard let resource else {
            return .json("{\"error\":\"invalid_request\",\"error_description\":\"resource is required\"}", status: 400)
        }
        let token = tokens.issue(
            audience: resource,
            tenant: scenario.tenantId,
            objectID: identity.objectId,
            isUser: false,
            lifetime: scenario.tokenLifetime
        )
        return .json(
            JSONValue.object([
                "access_token": .string(token), "expires_in": .string("86399"), "expires_on": .string("4102444800"),
                "resource": .string(resource), "token_type": .string("Bearer"),
            ]).text
        )
    }

    private func metadataHeaderMissing() -> ServerResponse {
        .json(
            "{\"error\":\"bad_request_102\",\"error_description\":\"Required metadata header not specified\"}",
            status: 400
        )
    }
}
