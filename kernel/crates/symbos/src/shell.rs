//! SymShell's side of the text terminal, served by a [`Console`]
//! (SymbOS-SymShell.txt, "SymShell commands and responses").
//!
//! What: the program sends a command message to SymShell's process id and waits for
//! the response:
//!
//! | command | response | here |
//! |---|---|---|
//! | 64 char input | 192: EOF flag, char, error | a key; ^C or the end of input is EOF |
//! | 65 line input | 193: EOF flag, error | a line edited on the console (echoed; backspace/DEL erase; CR, LF or CR LF end it; at most 255 bytes), written with a 0 to the buffer |
//! | 66 char output | 194: error | the byte to the screen |
//! | 67 string output | 195: error | the bytes (up to the given length or a 0) to the screen |
//! | 68 exit | none | 0 quit: later commands get error 254; 1 blur: input answers EOF |
//! | 69 path add | 197: end, last `\`, flags | base (or the shell's path `A:`) joined with the component, `.`/`..` resolved |
//! | 70 char test | 198: state, char | a key if one is there, kept for the next read when asked |
//! | 71 char watch | 199: error 252 | not served (no watch bytes) |
//!
//! Any other command gets `command + 128` with error 255. Both channels (standard
//! and keyboard/screen) are the console: zbeam has no redirection. Input that is not
//! there yet leaves the command pending; [`Shell::poll`] answers it when a key
//! arrives, so the program simply waits for the response as it would under SymbOS.
//! Control codes in output pass to the terminal unchanged.

use crate::{own_bank, Console, Fault, Key, Memory, Message};
use alloc::vec::Vec;

/// SymShell's commands.
pub mod cmd {
    /// Read a char.
    pub const CHRINP: u8 = 64;
    /// Read a line.
    pub const STRINP: u8 = 65;
    /// Write a char.
    pub const CHROUT: u8 = 66;
    /// Write a string.
    pub const STROUT: u8 = 67;
    /// Exit or blur.
    pub const EXIT: u8 = 68;
    /// Build a path.
    pub const PTHADD: u8 = 69;
    /// Test for a char.
    pub const CHRTST: u8 = 70;
    /// Watch the keyboard with a byte.
    pub const CHRWTC: u8 = 71;
    /// A response is the command plus this.
    pub const RESPONSE: u8 = 128;
}

/// Error 254: SymShell does not know the process (after it quit).
pub const ERR_UNKNOWN: u8 = 254;
/// Error 252: too many watch bytes.
pub const ERR_WATCH: u8 = 252;
/// Error 255: undefined.
pub const ERR_UNDEFINED: u8 = 255;
/// The shell's current path, as `PTHADD` with base 0 uses it.
pub const SHELL_PATH: &[u8] = b"A:";
/// Terminal size passed in `%sp`.
pub const TERMINAL: (u8, u8) = (80, 24);
/// Longest input line.
pub const LINE_MAX: usize = 255;

/// Where the program stands with SymShell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Focus {
    Active,
    Blurred,
    Quit,
}

/// SymShell for one program.
#[derive(Debug)]
pub struct Shell {
    focus: Focus,
    /// A command waiting for input.
    pending: Option<Message>,
    /// The line being edited for a pending 65.
    line: Vec<u8>,
    /// A key read by a 70 with "leave it in the buffer".
    peek: Option<Key>,
    /// The last line ended with CR: a following LF belongs to it.
    after_cr: bool,
}

impl Default for Shell {
    fn default() -> Self {
        Shell::new()
    }
}

fn reply(command: u8) -> Message {
    let mut m = [0u8; 14];
    m[0] = command.wrapping_add(cmd::RESPONSE);
    m
}

impl Shell {
    /// SymShell before the program's first command.
    pub fn new() -> Shell {
        Shell { focus: Focus::Active, pending: None, line: Vec::new(), peek: None, after_cr: false }
    }

    /// Whether a command waits for console input.
    pub fn waits_for_input(&self) -> bool {
        self.pending.is_some()
    }

    /// Serves command `m`: the response now, none (exit, or input to wait for), or the
    /// fault that ends the program (a buffer in another bank).
    pub fn command(&mut self, m: &Message, mem: &mut Memory, con: &mut dyn Console) -> Result<Option<Message>, Fault> {
        let mut r = reply(m[0]);
        if self.focus == Focus::Quit && m[0] != cmd::EXIT {
            r[3] = ERR_UNKNOWN;
            return Ok(Some(r));
        }
        match m[0] {
            cmd::CHRINP | cmd::STRINP => {
                if m[0] == cmd::STRINP {
                    own_bank(m[2])?;
                }
                if self.pending.is_some() {
                    // One input at a time, as SymShell's library sends them.
                    r[3] = ERR_UNDEFINED;
                    return Ok(Some(r));
                }
                self.pending = Some(*m);
                self.line.clear();
                return self.poll(mem, con);
            }
            cmd::CHROUT => con.write(&[m[2]]),
            cmd::STROUT => {
                own_bank(m[2])?;
                let at = u16::from_le_bytes([m[3], m[4]]);
                let mut out = Vec::with_capacity(m[5] as usize);
                for i in 0..m[5] as u16 {
                    match mem[at.wrapping_add(i) as usize] {
                        0 => break,
                        b => out.push(b),
                    }
                }
                con.write(&out);
            }
            cmd::EXIT => {
                self.focus = if m[1] == 0 { Focus::Quit } else { Focus::Blurred };
                return Ok(None);
            }
            cmd::PTHADD => {
                own_bank(m[7])?;
                let base = u16::from_le_bytes([m[1], m[2]]);
                let add = u16::from_le_bytes([m[3], m[4]]);
                let dst = u16::from_le_bytes([m[5], m[6]]);
                let base = if base == 0 { Vec::from(SHELL_PATH) } else { cstr(mem, base) };
                let path = join(&base, &cstr(mem, add));
                let n = path.len().min(255);
                for (i, &b) in path[..n].iter().enumerate() {
                    mem[dst.wrapping_add(i as u16) as usize] = b;
                }
                mem[dst.wrapping_add(n as u16) as usize] = 0;
                let slash = path[..n].iter().rposition(|&b| b == b'\\').map_or(0, |p| p + 1);
                r[1..3].copy_from_slice(&dst.wrapping_add(n as u16).to_le_bytes());
                r[3..5].copy_from_slice(&dst.wrapping_add(slash as u16).to_le_bytes());
                let ends = n > 0 && path[n - 1] == b'\\';
                let wild = path[slash..n].iter().any(|&b| b == b'*' || b == b'?');
                r[5] = ends as u8 | (wild as u8) << 1;
            }
            cmd::CHRTST => match self.key(con) {
                Key::Empty => r[1] = 0,
                Key::Eof | Key::Byte(3) => r[1] = 1,
                k @ Key::Byte(b) => {
                    r[1] = 2;
                    r[2] = b;
                    if m[2] == 0 {
                        self.peek = Some(k);
                    }
                }
            },
            cmd::CHRWTC => r[3] = ERR_WATCH,
            _ => r[3] = ERR_UNDEFINED,
        }
        Ok(Some(r))
    }

    fn key(&mut self, con: &mut dyn Console) -> Key {
        match self.peek.take() {
            Some(k) => k,
            None if self.focus == Focus::Blurred => Key::Eof,
            None => con.read(),
        }
    }

    /// Answers the pending input command if its input is there (or has ended).
    pub fn poll(&mut self, mem: &mut Memory, con: &mut dyn Console) -> Result<Option<Message>, Fault> {
        let Some(m) = self.pending else { return Ok(None) };
        let mut r = reply(m[0]);
        if m[0] == cmd::CHRINP {
            match self.key(con) {
                Key::Empty => return Ok(None),
                Key::Eof | Key::Byte(3) => r[1] = 1,
                Key::Byte(b) => r[2] = b,
            }
            self.pending = None;
            return Ok(Some(r));
        }
        loop {
            match self.key(con) {
                Key::Empty => return Ok(None),
                Key::Byte(b'\n') if self.after_cr && self.line.is_empty() => self.after_cr = false,
                Key::Byte(3) => {
                    con.write(b"^C\r\n");
                    r[1] = 1;
                    break;
                }
                Key::Eof if self.line.is_empty() => {
                    r[1] = 1;
                    break;
                }
                Key::Eof => break,
                Key::Byte(b'\r') => {
                    self.after_cr = true;
                    break;
                }
                Key::Byte(b'\n') => break,
                Key::Byte(8) | Key::Byte(0x7f) => {
                    self.after_cr = false;
                    if self.line.pop().is_some() {
                        con.write(b"\x08 \x08");
                    }
                }
                Key::Byte(b) => {
                    self.after_cr = false;
                    if self.line.len() < LINE_MAX {
                        self.line.push(b);
                        con.write(&[b]);
                    }
                }
            }
        }
        if r[1] == 0 {
            con.write(b"\r\n");
            let at = u16::from_le_bytes([m[3], m[4]]);
            for (i, &b) in self.line.iter().enumerate() {
                mem[at.wrapping_add(i as u16) as usize] = b;
            }
            mem[at.wrapping_add(self.line.len() as u16) as usize] = 0;
        }
        self.line.clear();
        self.pending = None;
        Ok(Some(r))
    }
}

/// The 0-terminated string at `at` (at most 255 bytes).
pub(crate) fn cstr(mem: &Memory, at: u16) -> Vec<u8> {
    (0..255u16).map(|i| mem[at.wrapping_add(i) as usize]).take_while(|&b| b != 0).collect()
}

/// Joins a path component to a base path as SymShell's PTHADD does: a component
/// with a drive stands alone, one starting with `\` or `/` starts at the base's
/// drive root, others go below the base; `.` and `..` are resolved and `/` becomes
/// `\`.
pub fn join(base: &[u8], add: &[u8]) -> Vec<u8> {
    let has_drive = |p: &[u8]| p.len() >= 2 && p[1] == b':' && p[0].is_ascii_alphabetic();
    let sep = |b: u8| b == b'\\' || b == b'/';
    let (drive, rest): (Vec<u8>, Vec<u8>) = if has_drive(add) {
        (add[..2].to_vec(), add[2..].to_vec())
    } else {
        let (d, b) = if has_drive(base) { (base[..2].to_vec(), &base[2..]) } else { (Vec::new(), base) };
        if add.first().is_some_and(|&b| sep(b)) {
            (d, add.to_vec())
        } else {
            let mut r = b.to_vec();
            r.push(b'\\');
            r.extend_from_slice(add);
            (d, r)
        }
    };
    let mut parts: Vec<&[u8]> = Vec::new();
    for part in rest.split(|&b| sep(b)) {
        match part {
            b"" | b"." => {}
            b".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    let mut out = drive;
    for p in &parts {
        out.push(b'\\');
        out.extend_from_slice(p);
    }
    if rest.last().is_some_and(|&b| sep(b)) || parts.is_empty() {
        out.push(b'\\');
    }
    out
}
