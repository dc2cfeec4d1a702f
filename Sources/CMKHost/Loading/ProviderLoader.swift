import CMKCore
import CMKPluginABI

/// Loads one provider library and checks its descriptor before trusting any of it.
package enum ProviderLoader {
    /// The smallest struct an ABI v1 provider may declare: up to and including `call`.
    package static let minimumStructSizeV1 = UInt32(
        MemoryLayout<cmk_provider>.offset(of: \cmk_provider.call)! + MemoryLayout<UnsafeRawPointer>.size
    )

    /// Opens `path` and loads it, judging nothing (`cmk providers verify` names its library).
    package static func load(_ path: String) -> Result<LoadedProvider, LoadError> {
        VettedLibrary.open(path).flatMap { load($0) }
    }

    /// Loads the inode that was vetted, through its descriptor: whatever the path names by now.
    package static func load(_ library: VettedLibrary) -> Result<LoadedProvider, LoadError> {
        let path = library.path
        // Through the descriptor, `$ORIGIN` would be /proc/self/fd: its own libraries go first.
        let dependencyProblems = OriginDependencies.preload(for: library.file)
        let handle: UnsafeMutableRawPointer
        switch DynamicLibrary.open(library.file.procPath) {
        case .success(let opened):
            handle = opened
            library.file.keepOpen()
        case .failure(let error):
            var failure = LoadError.fromDLError(error, path: path, loadedAs: library.file.procPath)
            if !dependencyProblems.isEmpty { failure.reason += " (\(dependencyProblems.joined(separator: "; ")))" }
            return .failure(failure)
        }
        let entryAddress: UnsafeMutableRawPointer
        switch DynamicLibrary.symbol(CMK_PROVIDER_ENTRY_SYMBOL, in: handle) {
        case .success(let address): entryAddress = address
        case .failure:
            return .failure(
                LoadError(
                    .noEntryPoint,
                    path: path,
                    reason: "no \(CMK_PROVIDER_ENTRY_SYMBOL) symbol: not a cmk provider (see docs/plugin-abi.md)"
                )
            )
        }
        typealias Entry = @convention(c) () -> UnsafeRawPointer?
        guard let raw = unsafeBitCast(entryAddress, to: Entry.self)() else {
            return .failure(
                LoadError(.invalidDescriptor, path: path, reason: "\(CMK_PROVIDER_ENTRY_SYMBOL) returned NULL")
            )
        }
        // Only the first two fields are common to every version: read them before anything else.
        let version = raw.loadUnaligned(as: UInt32.self)
        let size = raw.loadUnaligned(fromByteOffset: 4, as: UInt32.self)
        guard version == CMK_PLUGIN_ABI_VERSION else {
            return .failure(
                LoadError(
                    .unknownABIVersion,
                    path: path,
                    reason:
                        "ABI version \(version), but this cmk speaks version \(CMK_PLUGIN_ABI_VERSION); rebuild the provider against this cmk's cmk_plugin.h"
                )
            )
        }
        guard size >= minimumStructSizeV1 else {
            return .failure(
                LoadError(
                    .structTooSmall,
                    path: path,
                    reason:
                        "descriptor is \(size) bytes, but ABI version \(version) needs at least \(minimumStructSizeV1)"
                )
            )
        }
        let descriptor = raw.assumingMemoryBound(to: cmk_provider.self)
        let fields = descriptor.pointee
        guard fields.call != nil else {
            return .failure(LoadError(.invalidDescriptor, path: path, reason: "descriptor has no call function"))
        }
        let name = fields.name.map { String(cString: $0) } ?? ""
        guard isValidProviderName(name) else {
            return .failure(
                LoadError(
                    .invalidDescriptor,
                    path: path,
                    reason: "provider name '\(name)' is not 1-32 lowercase letters, digits or hyphens"
                )
            )
        }
        return .success(
            LoadedProvider(
                name: name,
                version: fields.version.map { String(cString: $0) } ?? "",
                summary: fields.description.map { String(cString: $0) } ?? "",
                abiVersion: version,
                structSize: size,
                path: path,
                channel: InProcessChannel(descriptor: descriptor)
            )
        )
    }
}

package func isValidProviderName(_ name: String) -> Bool {
    !name.isEmpty && name.count <= 32
        && name.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 }
}
