import Foundation

/// A path as a configuration file names it: absolute, or relative to the file's own
/// directory (not the process's working directory), as every path key of obsgate's
/// configuration files is read.
public func resolvedPath(_ path: String, relativeTo baseDirectory: String) -> String {
    path.hasPrefix("/") ? path : (baseDirectory as NSString).appendingPathComponent(path)
}
