internal import CMKSystem

/// The process attributes a worker sets on itself (prctl), each wrapped once; errno values on failure.
package enum ProcessControl {
    /// The signal the kernel sends this process when the thread that started it ends.
    package static func setParentDeathSignal(_ signal: Int32) -> Int32 { cmk_set_parent_death_signal(signal) }

    /// Makes this process the one its orphaned descendants re-parent to (`PR_SET_CHILD_SUBREAPER`).
    package static func becomeSubreaper() -> Int32 { cmk_set_child_subreaper() }

    /// On `signal`, its number is written as one byte to `descriptor` (a self-pipe) and nothing else.
    package static func writeOnSignal(_ signal: Int32, to descriptor: Int32) -> Int32 {
        cmk_write_on_signal(signal, descriptor)
    }
}
