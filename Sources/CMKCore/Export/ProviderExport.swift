internal import CMKPluginABI
import FoundationEssentials
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#else
    #error("cmk's provider export needs Glibc or Musl")
#endif

/// Exports a ``CloudKeyProvider`` through the C ABI; call it from the library's one exported symbol.
///
/// ```swift
/// @_cdecl("cmk_provider_entry")
/// public func cmk_provider_entry() -> UnsafeRawPointer { exportProvider(AWSProvider.self) }
/// ```
///
/// The descriptor and the provider instance are created once and live as long as the process:
/// the host never unloads a provider.
public func exportProvider<Provider: CloudKeyProvider>(_ type: Provider.Type) -> UnsafeRawPointer {
    exported.withLock { slot in
        if let slot { return UnsafeRawPointer(slot.descriptor) }
        let descriptor = UnsafeMutablePointer<cmk_provider>.allocate(capacity: 1)
        descriptor.initialize(
            to: cmk_provider(
                abi_version: CMK_PLUGIN_ABI_VERSION,
                struct_size: UInt32(MemoryLayout<cmk_provider>.size),
                name: UnsafePointer(strdup(Provider.name)),
                version: UnsafePointer(strdup(Provider.version)),
                description: UnsafePointer(strdup(Provider.summary)),
                call: providerCall
            )
        )
        slot = ExportedProvider(descriptor: descriptor, provider: Provider(), options: Provider.options)
        return UnsafeRawPointer(descriptor)
    }
}

private struct ExportedProvider: @unchecked Sendable {  // the descriptor is immutable once published
    var descriptor: UnsafeMutablePointer<cmk_provider>
    var provider: any CloudKeyProvider
    var options: [ProviderOption]
}

/// One per library image: each provider links its own copy of CMKCore.
private let exported = Mutex<ExportedProvider?>(nil)

private let providerCall: @convention(c) (UnsafePointer<CChar>?, Int, UnsafeMutableRawPointer?, cmk_reply_fn?) -> Void =
    {
        request,
        length,
        hostContext,
        reply in
        guard let reply else { return }
        let bytes = request.map { Array(UnsafeRawBufferPointer(start: $0, count: length)) } ?? []
        // The context is the host's opaque token; carry it as an integer so the task can be Sendable.
        let token = UInt(bitPattern: hostContext)
        guard let entry = exported.withLock({ $0 }) else { return }
        let send: @Sendable ([UInt8]) -> Void = { answer in
            answer.withUnsafeBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) { chars in
                    reply(UnsafeMutableRawPointer(bitPattern: token), chars.baseAddress, chars.count)
                }
            }
        }
        // Detection comes on every cmk start and is a look at the host's snapshot: it runs on the
        // caller's thread and usually answers before `call` returns (a metadata probe suspends it
        // and it goes on in the pool). Handing it to the pool instead cost each start a thread
        // wake-up per provider, and a thread. Everything else, network work, starts in the pool.
        if let request = DetectionRequest(wireBytes: bytes) {
            Task.immediate { send(await entry.provider.detect(request).wireBytes()) }
        } else {
            Task.detached { send(await handle(bytes, provider: entry.provider, options: entry.options)) }
        }
    }

private func handle(_ bytes: [UInt8], provider: any CloudKeyProvider, options: [ProviderOption]) async -> [UInt8] {
    let decoder = JSONDecoder()
    let data = Data(bytes)
    do {
        let envelope: WireEnvelope
        do {
            envelope = try decoder.decode(WireEnvelope.self, from: data)
        } catch {
            throw ProviderError(code: .badRequest, message: "the request is not a cmk message: \(error)")
        }
        switch envelope.op {
        case .describe:
            return try encodeReply(DescribeReply(options: options))
        case .detect:
            let request = try decoder.decode(DetectionRequest.self, from: data)
            return await provider.detect(request).wireBytes()
        case .status:
            let request = try decoder.decode(StatusRequest.self, from: data)
            return try encodeReply(try await provider.status(request))
        case .ticket:
            let request = try decoder.decode(StatusRequest.self, from: data)
            return try encodeReply(TicketReply(text: try await provider.ticket(request)))
        }
    } catch let error as ProviderError {
        return (try? encodeReply(ErrorReply(error: error))) ?? []
    } catch {
        let wrapped = ProviderError(code: .failed, message: String(describing: error))
        return (try? encodeReply(ErrorReply(error: wrapped))) ?? []
    }
}

private func encodeReply(_ value: some Encodable) throws -> [UInt8] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return Array(try encoder.encode(value))
}
