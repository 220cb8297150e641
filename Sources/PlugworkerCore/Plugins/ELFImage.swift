#if canImport(Glibc)
import Glibc
#endif

/// Just enough of an ELF reader to vet a file before `dlopen` runs any of
/// its code: is it a shared object for this machine, and does it export a
/// given symbol? (`dlopen` runs a library's constructors at once, so a file
/// without the magic block is refused here, unrun.)
struct ELFImage {
    enum Problem: Error, Equatable {
        case unreadable(String)
        case notELF
        case wrongClass
        case wrongMachine(UInt16)
        case notShared(UInt16)
    }

    let fd: Int32
    let size: Int

    #if arch(x86_64)
    static let hostMachine: UInt16 = 62  // EM_X86_64
    #elseif arch(arm64)
    static let hostMachine: UInt16 = 183  // EM_AARCH64
    #else
    static let hostMachine: UInt16 = 0
    #endif

    /// Opens `path` and checks the ELF header.
    static func inspect(path: String) throws(Problem) -> ELFImage {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw .unreadable(String(cString: strerror(errno))) }
        var st = stat()
        fstat(fd, &st)
        let image = ELFImage(fd: fd, size: Int(st.st_size))
        do throws(Problem) {
            try image.checkHeader()
        } catch {
            Glibc.close(fd)
            throw error
        }
        return image
    }

    func close() { _ = Glibc.close(fd) }

    func read(_ offset: Int, _ count: Int) -> [UInt8]? {
        guard offset >= 0, count >= 0, offset + count <= size else { return nil }
        var buf = [UInt8](repeating: 0, count: count)
        let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, off_t(offset)) }
        return n == count ? buf : nil
    }

    func checkHeader() throws(Problem) {
        guard let h = read(0, 64), h[0] == 0x7F, h[1] == 0x45, h[2] == 0x4C, h[3] == 0x46 else { throw .notELF }
        guard h[4] == 2, h[5] == 1 else { throw .wrongClass }  // ELFCLASS64, little-endian
        let type = u16(h, 16)
        let machine = u16(h, 18)
        guard machine == Self.hostMachine else { throw .wrongMachine(machine) }
        guard type == 3 else { throw .notShared(type) }  // ET_DYN
    }

    /// Whether the dynamic symbol table defines `name` as exported
    /// (default or protected visibility); nil when the file has no section headers to tell by
    /// (then `dlsym` decides).
    func exportsSymbol(_ name: String) -> Bool? {
        guard let h = read(0, 64) else { return nil }
        let shoff = Int(u64(h, 40))
        let shentsize = Int(u16(h, 58))
        let shnum = Int(u16(h, 60))
        guard shoff > 0, shentsize >= 64, shnum > 0, shnum < 65536,
              let sections = read(shoff, shentsize * shnum) else { return nil }
        let wanted = Array(name.utf8)
        for i in 0..<shnum {
            let s = i * shentsize
            guard u32(sections, s + 4) == 11 else { continue }  // SHT_DYNSYM
            let symOffset = Int(u64(sections, s + 24))
            let symSize = Int(u64(sections, s + 32))
            let link = Int(u32(sections, s + 40))
            guard link < shnum, symSize < 64 << 20 else { return nil }
            let l = link * shentsize
            let strOffset = Int(u64(sections, l + 24))
            let strSize = Int(u64(sections, l + 32))
            guard strSize < 64 << 20, let syms = read(symOffset, symSize), let strs = read(strOffset, strSize) else { return nil }
            var e = 0
            while e + 24 <= syms.count {
                let nameOffset = Int(u32(syms, e))
                let visibility = syms[e + 5] & 3
                let sectionIndex = u16(syms, e + 6)
                // Defined, with STV_DEFAULT or STV_PROTECTED visibility.
                if sectionIndex != 0, visibility == 0 || visibility == 3, nameOffset + wanted.count < strs.count,
                   strs[nameOffset + wanted.count] == 0,
                   strs[nameOffset..<(nameOffset + wanted.count)].elementsEqual(wanted) {
                    return true
                }
                e += 24
            }
            return false
        }
        return nil
    }

    func u16(_ b: [UInt8], _ o: Int) -> UInt16 { UInt16(b[o]) | UInt16(b[o + 1]) << 8 }
    func u32(_ b: [UInt8], _ o: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(b[o + $1]) << (8 * $1) } }
    func u64(_ b: [UInt8], _ o: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(b[o + $1]) << (8 * $1) } }
}
