#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#else
    #error("cmk's loader needs Glibc or Musl")
#endif

/// Thin shims over dlopen/dlsym: the only place in cmk that calls them.
package enum DynamicLibrary {
    /// Opens `path` with RTLD_NOW (an undefined symbol fails here, not at the first call, where it
    /// would kill the host) and RTLD_NODELETE (unloading a Swift library unmaps type metadata that
    /// the runtime still points at). RTLD_LOCAL keeps each provider's copy of CMKCore to itself.
    package static func open(_ path: String) -> Result<UnsafeMutableRawPointer, DLError> {
        _ = dlerror()
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE) else {
            return .failure(DLError(message: lastError() ?? "dlopen failed for an unknown reason"))
        }
        return .success(handle)
    }

    /// Looks up a symbol; nil with the loader's message when it is missing.
    package static func symbol(_ name: String, in handle: UnsafeMutableRawPointer) -> Result<
        UnsafeMutableRawPointer, DLError
    > {
        _ = dlerror()
        guard let address = dlsym(handle, name) else {
            return .failure(DLError(message: lastError() ?? "\(name) is not defined"))
        }
        return .success(address)
    }

    private static func lastError() -> String? {
        guard let text = dlerror() else { return nil }
        return String(cString: text)
    }
}

/// The text `dlerror()` returned.
package struct DLError: Error, Sendable {
    package var message: String
}
