/// Why a provider library was not loaded. Equality by code; the reason is for people.
package struct LoadError: Error, Sendable, Equatable, CustomStringConvertible {
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        package var name: String
        package var description: String { name }

        package static let missingFile = Code(name: "missing-file")
        /// A directory, FIFO, socket or device where a library should be.
        package static let notRegularFile = Code(name: "not-a-regular-file")
        package static let notSharedLibrary = Code(name: "not-a-shared-library")
        package static let undefinedSymbol = Code(name: "undefined-symbol")
        package static let openFailed = Code(name: "open-failed")
        package static let noEntryPoint = Code(name: "no-entry-point")
        package static let unknownABIVersion = Code(name: "unknown-abi-version")
        package static let structTooSmall = Code(name: "struct-too-small")
        package static let invalidDescriptor = Code(name: "invalid-descriptor")
        package static let duplicateName = Code(name: "duplicate-name")
        package static let untrusted = Code(name: "untrusted")
        package static let checksumMismatch = Code(name: "checksum-mismatch")
        package static let toolchainMismatch = Code(name: "toolchain-mismatch")
        package static let missingDirectory = Code(name: "missing-directory")
    }

    package var code: Code
    /// The file or directory concerned.
    package var path: String
    /// One line: the cause and, where there is one, the fix.
    package var reason: String

    package init(_ code: Code, path: String, reason: String) {
        self.code = code
        self.path = path
        self.reason = reason
    }

    package var description: String { "\(path): \(reason)" }
    package static func == (lhs: LoadError, rhs: LoadError) -> Bool { lhs.code == rhs.code && lhs.path == rhs.path }

    /// Sorts a dlopen message into a code, keeping the loader's words.
    ///
    /// `loadedAs` is the name dlopen was given (`/proc/self/fd/N` for a vetted library), which
    /// its message starts with; `path` is the file as people know it.
    package static func fromDLError(_ error: DLError, path: String, loadedAs: String? = nil) -> LoadError {
        let name = loadedAs ?? path
        let message =
            error.message.hasPrefix(name + ": ") ? String(error.message.dropFirst(name.count + 2)) : error.message
        let code: Code
        if message.contains("No such file or directory") {
            code = .missingFile
        } else if message.contains("undefined symbol") {
            code = .undefinedSymbol
        } else if message.contains("file too short") || message.contains("invalid ELF header")
            || message.contains("Is a directory")
            || message.contains("not an ELF") || message.contains("wrong ELF class")
        {
            code = .notSharedLibrary
        } else {
            code = .openFailed
        }
        let prefix = code == .notSharedLibrary ? "not a shared library: " : ""
        return LoadError(code, path: path, reason: "\(prefix)\(message)")
    }
}
