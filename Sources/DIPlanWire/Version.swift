/// diplan's version, in one place: `--version` of every binary and `Admin/Describe`.
package enum DIPlanVersion {
    package static let current = "0.2.0"
}
