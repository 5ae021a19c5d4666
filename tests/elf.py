"""Reads what a shared library asks for and what it exports, from its ELF dynamic section and dynamic
symbol table (64-bit little-endian only), so the build test needs no binutils."""

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import List

SHT_DYNAMIC, SHT_DYNSYM = 6, 11
DT_NULL, DT_NEEDED = 0, 1
SHN_UNDEF = 0
STB_GLOBAL, STB_WEAK = 1, 2
STV_DEFAULT, STV_PROTECTED = 0, 3


@dataclass
class DynamicInfo:
    needed: List[str]    # DT_NEEDED: the shared libraries it links against
    exported: List[str]  # defined global/weak symbols of default or protected visibility (mangled)


def _string(table: bytes, offset: int) -> str:
    return table[offset:table.index(b"\0", offset)].decode()


def read_dynamic(path: Path) -> DynamicInfo:
    data = Path(path).read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise ValueError(f"{path}: not a 64-bit little-endian ELF file")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    # (type, offset, size, link, entsize) of every section
    sections = []
    for index in range(shnum):
        _, kind, _, _, offset, size, link, _, _, entsize = struct.unpack_from("<IIQQQQIIQQ", data, shoff + index * shentsize)
        sections.append((kind, offset, size, link, entsize))

    def strings_of(section):
        _, offset, size, _, _ = sections[section[3]]
        return data[offset:offset + size]

    needed, exported = [], []
    for section in sections:
        kind, offset, size, _, entsize = section
        if kind == SHT_DYNAMIC:
            names = strings_of(section)
            for at in range(offset, offset + size, entsize):
                tag, value = struct.unpack_from("<qQ", data, at)
                if tag == DT_NULL:
                    break
                if tag == DT_NEEDED:
                    needed.append(_string(names, value))
        elif kind == SHT_DYNSYM:
            names = strings_of(section)
            for at in range(offset, offset + size, entsize):
                name, info, other, shndx = struct.unpack_from("<IBBH", data, at)
                if shndx != SHN_UNDEF and info >> 4 in (STB_GLOBAL, STB_WEAK) and other & 3 in (STV_DEFAULT, STV_PROTECTED):
                    exported.append(_string(names, name))
    return DynamicInfo(needed, [name for name in exported if name])
