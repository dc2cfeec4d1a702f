/// The REST API specification examples, loaded as the bodies the emulator patches.
///
/// Serving the published examples' shapes (not hand-written ones) keeps the provider honest about
/// what Azure really returns: absent flags, `:443` in ARM key URIs, `Recoverable+Purgeable`.
struct FixtureTemplates: Sendable {
    let vault: JSONValue
    let armKey: JSONValue
    let dataPlaneKey: JSONValue
    let roleAssignment: JSONValue
    /// Built-in role definitions by lowercased GUID (`builtin-role-definitions.json`).
    let builtInRoles: [String: JSONValue]

    init(directory: String) throws {
        func body(_ file: String) throws -> JSONValue {
            let path = "\(directory)/rest-api-specs/\(file)"
            guard let bytes = readFile(path) else { throw EmulatorError("cannot read fixture \(path)") }
            guard let body = try JSONValue.parse(bytes)[path: "responses", "200", "body"] else {
                throw EmulatorError("fixture \(path) has no responses.200.body")
            }
            return body
        }
        vault = try body("keyvault-arm-2023-07-01-getVault.json")
        armKey = try body("keyvault-arm-2023-07-01-getKey.json")
        dataPlaneKey = try body("keyvault-data-plane-7.5-GetKey.json")
        guard
            case .array(let assignments)? = try body("authorization-2022-04-01-RoleAssignments_ListForScope.json")[
                "value"
            ],
            let first = assignments.first
        else { throw EmulatorError("the role assignment fixture has no value[0]") }
        roleAssignment = first
        let rolesPath = "\(directory)/builtin-role-definitions.json"
        guard let rolesBytes = readFile(rolesPath), case .array(let roles)? = try JSONValue.parse(rolesBytes)["value"]
        else { throw EmulatorError("cannot read \(rolesPath)") }
        var byID: [String: JSONValue] = [:]
        for role in roles { if case .string(let name)? = role["name"] { byID[name.lowercased()] = role } }
        builtInRoles = byID
    }
}
