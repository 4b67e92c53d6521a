//! Reading just enough of an ELF header to tell whether a file is a 64-bit Linux executable and for
//! which of Lambda's two architectures — so that a binary Lambda cannot run ("exec format error")
//! is refused before anything is uploaded.

use std::io::Read;
use std::path::Path;

use crate::architecture::Architecture;

/// ELF `e_machine` values of the two Lambda architectures.
pub const EM_X86_64: u16 = 62;
pub const EM_AARCH64: u16 = 183;

/// What the first bytes of a file say about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElfKind {
    /// No ELF magic: a script, or a binary for another OS.
    NotElf,
    /// ELF, but not 64-bit little-endian (Lambda runs neither 32-bit nor big-endian code).
    Unsupported,
    /// A 64-bit little-endian ELF file for this machine (`e_machine`).
    Machine(u16),
}

impl ElfKind {
    /// The Lambda architecture of the machine, if it is one.
    pub fn architecture(self) -> Option<Architecture> {
        match self {
            ElfKind::Machine(EM_X86_64) => Some(Architecture::X86_64),
            ElfKind::Machine(EM_AARCH64) => Some(Architecture::Arm64),
            _ => None,
        }
    }

    /// `x86_64`, `arm64`, or `ELF machine N`, for messages.
    pub fn describe(self) -> String {
        match (self, self.architecture()) {
            (_, Some(architecture)) => architecture.to_string(),
            (ElfKind::Machine(machine), None) => format!("ELF machine {machine}"),
            (ElfKind::Unsupported, _) => "a 32-bit or big-endian ELF target".to_string(),
            (ElfKind::NotElf, _) => "not ELF".to_string(),
        }
    }
}

/// Classifies a header (the first 20 bytes or more of a file).
pub fn classify(header: &[u8]) -> ElfKind {
    if !header.starts_with(b"\x7fELF") {
        return ElfKind::NotElf;
    }
    if header.len() < 20 || header[4] != 2 || header[5] != 1 {
        return ElfKind::Unsupported;
    }
    ElfKind::Machine(u16::from_le_bytes([header[18], header[19]]))
}

/// Reads up to `n` bytes from the start of `path`.
pub fn read_head(path: &Path, n: usize) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(n);
    std::fs::File::open(path)?
        .take(n as u64)
        .read_to_end(&mut head)?;
    Ok(head)
}

/// The architecture of this machine, for runtimes started locally.
pub fn host_architecture() -> Option<Architecture> {
    match std::env::consts::ARCH {
        "x86_64" => Some(Architecture::X86_64),
        "aarch64" => Some(Architecture::Arm64),
        _ => None,
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// A minimal 64-bit little-endian ELF header for `machine`.
    pub fn elf(machine: u16) -> Vec<u8> {
        let mut header = vec![0x7f, b'E', b'L', b'F', 2, 1, 1, 0];
        header.resize(16, 0);
        header.extend_from_slice(&2u16.to_le_bytes()); // e_type: executable
        header.extend_from_slice(&machine.to_le_bytes());
        header.resize(64, 0);
        header
    }

    #[test]
    fn headers_are_classified() {
        assert_eq!(
            classify(&elf(EM_X86_64)).architecture(),
            Some(Architecture::X86_64)
        );
        assert_eq!(
            classify(&elf(EM_AARCH64)).architecture(),
            Some(Architecture::Arm64)
        );
        assert_eq!(classify(b"#!/bin/sh\n"), ElfKind::NotElf);
        assert_eq!(classify(b"\x7fELF"), ElfKind::Unsupported);
        let mut thirty_two = elf(EM_X86_64);
        thirty_two[4] = 1;
        assert_eq!(classify(&thirty_two), ElfKind::Unsupported);
        assert_eq!(classify(&elf(40)).describe(), "ELF machine 40");
    }
}
