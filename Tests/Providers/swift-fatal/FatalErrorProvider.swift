// A provider in Swift that calls fatalError when asked for its status: built by the isolation
// tests with `swiftc -emit-library`, speaking the C ABI directly (no CMKCore), so it compiles alone.
import CMKPluginABI
import Glibc

private let reply: @convention(c) (UnsafePointer<CChar>?, Int, UnsafeMutableRawPointer?, cmk_reply_fn?) -> Void = {
    request,
    length,
    context,
    done in
    let text = request.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: length), as: UTF8.self) } ?? ""
    if text.contains("\"op\":\"status\"") {
        fatalError("the fatal provider gives up on purpose")
    }
    let answer =
        text.contains("\"op\":\"detect\"")
        ? #"{"strength":"none","evidence":[],"rejected":["never detects"],"details":{}}"#
        : #"{"error":{"code":"unsupported","message":"no"}}"#
    answer.withCString { done?(context, $0, answer.utf8.count) }
}

private let descriptor: UnsafeMutablePointer<cmk_provider> = {
    let pointer = UnsafeMutablePointer<cmk_provider>.allocate(capacity: 1)
    pointer.initialize(
        to: cmk_provider(
            abi_version: CMK_PLUGIN_ABI_VERSION,
            struct_size: UInt32(MemoryLayout<cmk_provider>.size),
            name: UnsafePointer(strdup("swiftfatal")),
            version: UnsafePointer(strdup("0.0.1")),
            description: UnsafePointer(strdup("calls fatalError on status")),
            call: reply
        )
    )
    return pointer
}()

@_cdecl("cmk_provider_entry")
public func cmk_provider_entry() -> UnsafeRawPointer { UnsafeRawPointer(descriptor) }
