// Shim for the compact-json target: the one type CompactJSON.swift needs from
// Sources/CMKCore/Export/WireMessages.swift, whose other messages would pull in the provider
// model. The raw values must stay those of WireOperation there (fuzz/run checks that they do).
package enum WireOperation: String, Codable, Sendable {
    case describe
    case detect
    case status
    case ticket
}
