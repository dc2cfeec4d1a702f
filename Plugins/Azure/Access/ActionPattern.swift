/// Azure's action strings and their `*` wildcards, compared as Azure compares them.
///
/// `Microsoft.KeyVault/vaults/keys/*` covers `Microsoft.KeyVault/vaults/keys/wrap/action`; `*`
/// covers everything; `*/read` covers every read. Comparison is case-insensitive. A `*` matches
/// any run of characters, slashes included, which is how role definitions use it.
enum ActionPattern {
    static func matches(_ pattern: String, _ action: String) -> Bool {
        let pattern = Array(pattern.lowercased().utf8)
        let action = Array(action.lowercased().utf8)
        // Greedy glob with backtracking to the last `*`: linear enough for action strings.
        var p = 0
        var a = 0
        var star: Int?
        var resume = 0
        while a < action.count {
            if p < pattern.count, pattern[p] == UInt8(ascii: "*") {
                star = p
                resume = a
                p += 1
            } else if p < pattern.count, pattern[p] == action[a] {
                p += 1
                a += 1
            } else if let star {
                p = star + 1
                resume += 1
                a = resume
            } else {
                return false
            }
        }
        while p < pattern.count, pattern[p] == UInt8(ascii: "*") { p += 1 }
        return p == pattern.count
    }

    /// Whether `permissions` allow `action` as a data action: some block lists it and does not take it away.
    static func allowsData(_ permissions: [PermissionSet], _ action: String) -> Bool {
        permissions.contains { block in
            block.dataActions.contains { matches($0, action) } && !block.notDataActions.contains { matches($0, action) }
        }
    }

    /// Whether `permissions` allow `action` as a control-plane action.
    static func allowsControl(_ permissions: [PermissionSet], _ action: String) -> Bool {
        permissions.contains { block in
            block.actions.contains { matches($0, action) } && !block.notActions.contains { matches($0, action) }
        }
    }
}
