import Glibc

/// Enough of a file's identity to notice an edit, from `stat(2)`: device and inode (editors
/// save by writing a new file and renaming it over the old one), size, and the modification
/// time to the nanosecond. nil when the file cannot be stat'ed (missing, unreadable).
///
/// (FileManager's attributes are not used: under FoundationEssentials, which the hub binary
/// links, they come back without a modification date.)
struct FileFingerprint: Equatable, Sendable {
    var device: UInt64
    var inode: UInt64
    var size: Int64
    var modifiedSeconds: Int64
    var modifiedNanoseconds: Int64

    init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        modifiedSeconds = Int64(info.st_mtim.tv_sec)
        modifiedNanoseconds = Int64(info.st_mtim.tv_nsec)
    }
}
