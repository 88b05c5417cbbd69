//! Tokens of preprocessed C (or of `cdef` text): identifiers, numbers, character and string
//! literals, punctuators, each with its file, line and column. Line markers (`# 1 "f.h"`)
//! move the position; `#define`/`#undef` fill the macro list; `#pragma pack` is recorded
//! against the token it precedes; `#include` and conditionals are refused.

use std::borrow::{Borrow, Cow};
use std::collections::HashSet;
use std::fmt;
use std::hash::BuildHasherDefault;
use std::ops::Deref;
use std::sync::Arc;

use super::model::Macro;
use super::{CDeclError, FastHasher};

/// The text of an identifier or number, shared: a header names `int` or `sqlite3` thousands
/// of times, and each occurrence is a reference to one allocation (cloned without copying).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name(Arc<str>);

impl Name {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Deref for Name {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Name {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Name {
    fn from(s: &str) -> Self {
        Name(Arc::from(s))
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

/// The names lexed so far, each stored once.
type Names = HashSet<Name, BuildHasherDefault<FastHasher>>;

fn intern(names: &mut Names, word: &str) -> Name {
    if let Some(n) = names.get(word) {
        return n.clone();
    }
    let n = Name::from(word);
    names.insert(n.clone());
    n
}

/// What a token is.
#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    Ident(Name),
    /// A number as written (the evaluator types it).
    Num(Name),
    /// A character constant as written between the quotes, with its prefix.
    Char {
        prefix: &'static str,
        body: Box<str>,
    },
    /// A string literal's bytes (escapes decoded), with its prefix.
    Str {
        prefix: &'static str,
        bytes: Box<[u8]>,
    },
    Punct(&'static str),
    Eof,
}

/// A token and where it is.
#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    pub tok: Tok,
    /// Index into [`Lexed::files`].
    pub file: u32,
    pub line: u32,
    pub col: u32,
    /// Byte offset of the token in the lexed text (to show its line in errors).
    pub offset: usize,
}

/// The result of lexing.
#[derive(Clone, Debug, Default)]
pub struct Lexed {
    pub tokens: Vec<Token>,
    pub files: Vec<String>,
    pub macros: Vec<Macro>,
    /// `(index of the next token, pack value from then on)`.
    pub packs: Vec<(usize, Option<u64>)>,
}

/// The punctuator starting `rest` (longest match), if any.
fn punctuator(rest: &[u8]) -> Option<&'static str> {
    let at = |k: usize| rest.get(k).copied().unwrap_or(0);
    let (c, d, e) = (at(0), at(1), at(2));
    // A byte `c` alone, or `c` then `=` (`+=`, `<=`, `==`...), when `=` may follow it.
    let with_eq = |alone: &'static str, eq: &'static str| Some(if d == b'=' { eq } else { alone });
    match c {
        b'(' => Some("("),
        b')' => Some(")"),
        b'[' => Some("["),
        b']' => Some("]"),
        b'{' => Some("{"),
        b'}' => Some("}"),
        b';' => Some(";"),
        b',' => Some(","),
        b'~' => Some("~"),
        b'?' => Some("?"),
        b':' => Some(":"),
        b'.' if d == b'.' && e == b'.' => Some("..."),
        b'.' => Some("."),
        b'#' if d == b'#' => Some("##"),
        b'#' => Some("#"),
        b'-' if d == b'>' => Some("->"),
        b'-' if d == b'-' => Some("--"),
        b'-' => with_eq("-", "-="),
        b'+' if d == b'+' => Some("++"),
        b'+' => with_eq("+", "+="),
        b'&' if d == b'&' => Some("&&"),
        b'&' => with_eq("&", "&="),
        b'|' if d == b'|' => Some("||"),
        b'|' => with_eq("|", "|="),
        b'<' if d == b'<' => Some(if e == b'=' { "<<=" } else { "<<" }),
        b'<' => with_eq("<", "<="),
        b'>' if d == b'>' => Some(if e == b'=' { ">>=" } else { ">>" }),
        b'>' => with_eq(">", ">="),
        b'*' => with_eq("*", "*="),
        b'/' => with_eq("/", "/="),
        b'%' => with_eq("%", "%="),
        b'^' => with_eq("^", "^="),
        b'!' => with_eq("!", "!="),
        b'=' => with_eq("=", "=="),
        _ => None,
    }
}

struct Lexer<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    file: u32,
    line: u32,
    line_start: usize,
    at_line_start: bool,
    out: Lexed,
    pack_stack: Vec<Option<u64>>,
    pack: Option<u64>,
    names: Names,
}

/// Lexes `src`; `name` is the file name errors use until a line marker says otherwise.
pub fn lex(src: &str, name: &str) -> Result<Lexed, CDeclError> {
    let mut lx = Lexer {
        src,
        bytes: src.as_bytes(),
        pos: 0,
        file: 0,
        line: 1,
        line_start: 0,
        at_line_start: true,
        out: Lexed {
            files: vec![name.to_string()],
            // At most about one token per five bytes of C (fewer with `-dD`'s macros,
            // which are not in this list).
            tokens: Vec::with_capacity(src.len() / 5),
            ..Default::default()
        },
        pack_stack: Vec::new(),
        pack: None,
        // A header's distinct names, roughly (growing the set rehashes every name).
        names: Names::with_capacity_and_hasher(src.len() / 64, Default::default()),
    };
    loop {
        let t = lx.next_token(true)?;
        let eof = t.tok == Tok::Eof;
        lx.out.tokens.push(t);
        if eof {
            break;
        }
    }
    Ok(lx.out)
}

/// Lexes a macro body or other fragment with no directives (positions given by `at`);
/// its names are interned in `names`.
fn lex_fragment(src: &str, at: &Token, names: &mut Names) -> Result<Vec<Token>, CDeclError> {
    let mut lx = Lexer {
        src,
        bytes: src.as_bytes(),
        pos: 0,
        file: at.file,
        line: at.line,
        line_start: 0,
        at_line_start: false,
        out: Lexed::default(),
        pack_stack: Vec::new(),
        pack: None,
        names: std::mem::take(names),
    };
    let mut toks = Vec::new();
    let result = loop {
        match lx.next_token(false) {
            Ok(t) if t.tok == Tok::Eof => break Ok(()),
            Ok(mut t) => {
                t.col += at.col;
                t.offset = at.offset;
                toks.push(t);
            }
            Err(e) => break Err(e),
        }
    };
    *names = lx.names;
    result.map(|()| toks)
}

impl<'a> Lexer<'a> {
    fn err(&self, offset: usize, msg: String) -> CDeclError {
        let col = (offset.saturating_sub(self.line_start) + 1) as u32;
        CDeclError::at(
            self.out
                .files
                .get(self.file as usize)
                .cloned()
                .unwrap_or_default(),
            self.line,
            col,
            line_text(self.src, offset),
            msg,
        )
    }

    fn peek(&self, k: usize) -> u8 {
        *self.bytes.get(self.pos + k).unwrap_or(&0)
    }

    fn newline(&mut self) {
        self.line += 1;
        self.pos += 1;
        self.line_start = self.pos;
        self.at_line_start = true;
    }

    /// Skips spaces, comments and backslash-newlines; stops at a newline when `stop_at_nl`.
    fn skip_space(&mut self, stop_at_nl: bool) -> Result<(), CDeclError> {
        loop {
            match self.peek(0) {
                b' ' | b'\t' | b'\r' | 0x0c | 0x0b => self.pos += 1,
                b'\n' if !stop_at_nl => self.newline(),
                b'\\' if self.peek(1) == b'\n' => {
                    self.pos += 1;
                    self.line += 1;
                    self.pos += 1;
                    self.line_start = self.pos;
                }
                b'/' if self.peek(1) == b'/' => {
                    while self.pos < self.bytes.len() && self.peek(0) != b'\n' {
                        self.pos += 1;
                    }
                }
                b'/' if self.peek(1) == b'*' => {
                    let start = self.pos;
                    self.pos += 2;
                    loop {
                        if self.pos >= self.bytes.len() {
                            return Err(self.err(start, "unterminated comment".into()));
                        }
                        if self.peek(0) == b'*' && self.peek(1) == b'/' {
                            self.pos += 2;
                            break;
                        }
                        if self.peek(0) == b'\n' {
                            self.newline();
                            self.at_line_start = false;
                        } else {
                            self.pos += 1;
                        }
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    fn next_token(&mut self, directives: bool) -> Result<Token, CDeclError> {
        loop {
            self.skip_space(false)?;
            if directives && self.at_line_start && self.peek(0) == b'#' {
                self.pos += 1;
                self.directive()?;
                continue;
            }
            self.at_line_start = false;
            return self.token();
        }
    }

    fn token(&mut self) -> Result<Token, CDeclError> {
        let start = self.pos;
        let mk = |lx: &Self, tok| Token {
            tok,
            file: lx.file,
            line: lx.line,
            col: (start - lx.line_start + 1) as u32,
            offset: start,
        };
        if self.pos >= self.bytes.len() {
            return Ok(mk(self, Tok::Eof));
        }
        let c = self.peek(0);
        if c.is_ascii_alphabetic() || c == b'_' || c == b'$' || c >= 0x80 {
            while {
                let c = self.peek(0);
                c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80
            } {
                self.pos += 1;
            }
            let word = &self.src[start..self.pos];
            let q = self.peek(0);
            if q == b'"' || q == b'\'' {
                let prefix = match word {
                    "L" => Some("L"),
                    "u" => Some("u"),
                    "U" => Some("U"),
                    "u8" => Some("u8"),
                    _ => None,
                };
                if let Some(prefix) = prefix {
                    return self.quoted(start, prefix).map(|t| mk(self, t));
                }
            }
            let name = intern(&mut self.names, word);
            return Ok(mk(self, Tok::Ident(name)));
        }
        if c.is_ascii_digit() || (c == b'.' && self.peek(1).is_ascii_digit()) {
            self.pos += 1;
            while {
                let c = self.peek(0);
                let prev = self.bytes[self.pos - 1];
                c.is_ascii_alphanumeric()
                    || c == b'.'
                    || c == b'_'
                    || c == b'\''
                    || ((c == b'+' || c == b'-') && matches!(prev, b'e' | b'E' | b'p' | b'P'))
            } {
                self.pos += 1;
            }
            let name = intern(&mut self.names, &self.src[start..self.pos]);
            return Ok(mk(self, Tok::Num(name)));
        }
        if c == b'"' || c == b'\'' {
            return self.quoted(start, "").map(|t| mk(self, t));
        }
        if let Some(p) = punctuator(&self.bytes[self.pos..]) {
            self.pos += p.len();
            return Ok(mk(self, Tok::Punct(p)));
        }
        let ch = self.src[start..].chars().next().unwrap_or('?');
        Err(self.err(start, format!("unexpected character '{ch}'")))
    }

    fn quoted(&mut self, start: usize, prefix: &'static str) -> Result<Tok, CDeclError> {
        let quote = self.peek(0);
        self.pos += 1;
        let body_start = self.pos;
        loop {
            match self.peek(0) {
                0 if self.pos >= self.bytes.len() => {
                    return Err(self.err(start, "unterminated literal".into()))
                }
                b'\n' => return Err(self.err(start, "unterminated literal".into())),
                b'\\' => self.pos += 2,
                c if c == quote => break,
                _ => self.pos += 1,
            }
        }
        let body = &self.src[body_start..self.pos.min(self.src.len())];
        self.pos += 1;
        if quote == b'\'' {
            Ok(Tok::Char {
                prefix,
                body: body.into(),
            })
        } else {
            let bytes = unescape(body).map_err(|m| self.err(start, m))?;
            Ok(Tok::Str {
                prefix,
                bytes: bytes.into_boxed_slice(),
            })
        }
    }

    /// The rest of the logical line after `#`, comments removed, continuations joined.
    fn directive_line(&mut self) -> Result<(usize, Cow<'a, str>), CDeclError> {
        let start = self.pos;
        let src: &'a str = self.src;
        let end = self.bytes[start..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(self.bytes.len(), |i| start + i);
        let line = &self.bytes[start..end];
        if !line
            .iter()
            .any(|b| matches!(b, b'/' | b'\\' | b'"' | b'\''))
        {
            // No comment, continuation or literal (the compiler's own output): the line as
            // it is.
            self.pos = end;
            return Ok((start, Cow::Borrowed(&src[start..end])));
        }
        let mut text = String::new();
        loop {
            self.skip_space(true)?;
            if self.pos >= self.bytes.len() || self.peek(0) == b'\n' {
                break;
            }
            let from = self.pos;
            // Copy one chunk up to the next space, quote or comment start.
            if self.peek(0) == b'"' || self.peek(0) == b'\'' {
                let q = self.peek(0);
                self.pos += 1;
                while self.pos < self.bytes.len() && self.peek(0) != q && self.peek(0) != b'\n' {
                    if self.peek(0) == b'\\' {
                        self.pos += 1;
                    }
                    self.pos += 1;
                }
                self.pos = (self.pos + 1).min(self.bytes.len());
            } else {
                while self.pos < self.bytes.len() && !self.chunk_ends() {
                    self.pos += 1;
                }
            }
            if !text.is_empty()
                && from > 0
                && matches!(self.bytes[from - 1], b' ' | b'\t' | b'/' | b'\n')
            {
                text.push(' ');
            }
            text.push_str(&self.src[from..self.pos.min(self.src.len())]);
        }
        Ok((start, Cow::Owned(text)))
    }

    /// Whether a directive's word ends here: a space, a quote, a comment or a continuation.
    fn chunk_ends(&self) -> bool {
        matches!(
            (self.peek(0), self.peek(1)),
            (b' ' | b'\t' | b'\n' | b'\r' | b'"' | b'\'', _) | (b'/', b'/' | b'*') | (b'\\', b'\n')
        )
    }

    fn directive(&mut self) -> Result<(), CDeclError> {
        let line = self.line;
        let hash_col = self.pos - self.line_start;
        let (start, text) = self.directive_line()?;
        let at = Token {
            tok: Tok::Eof,
            file: self.file,
            line,
            col: hash_col as u32,
            offset: start,
        };
        let text = text.trim();
        let (word, rest) = split_word(text);
        match word {
            "" => {}
            w if w.bytes().all(|b| b.is_ascii_digit()) => self.line_marker(w, rest, start)?,
            "line" => {
                let (n, rest) = split_word(rest);
                self.line_marker(n, rest, start)?
            }
            "define" => {
                let rest = rest.trim_start();
                let (name_end, _) = rest
                    .char_indices()
                    .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '$'))
                    .unwrap_or((rest.len(), ' '));
                let name = &rest[..name_end];
                if name.is_empty() || name.as_bytes()[0].is_ascii_digit() {
                    return Err(self.err(start, "#define needs a macro name".into()));
                }
                let after = &rest[name_end..];
                let (params, variadic, body) = if let Some(p) = after.strip_prefix('(') {
                    let close = p
                        .find(')')
                        .ok_or_else(|| self.err(start, "missing ')' in macro parameter list".into()))?;
                    let mut params = Vec::new();
                    let mut variadic = false;
                    for part in p[..close].split(',') {
                        let part = part.trim();
                        if part == "..." {
                            variadic = true;
                        } else if let Some(n) = part.strip_suffix("...") {
                            params.push(n.trim().to_string());
                            variadic = true;
                        } else if !part.is_empty() {
                            params.push(part.to_string());
                        }
                    }
                    (Some(params), variadic, &p[close + 1..])
                } else {
                    (None, false, after)
                };
                let body = lex_fragment(body, &at, &mut self.names)?;
                self.out.macros.push(Macro {
                    name: name.to_string(),
                    params,
                    variadic,
                    body,
                });
            }
            "undef" => {
                let (name, _) = split_word(rest);
                self.out.macros.retain(|m| m.name != name);
            }
            "pragma" => {
                let (what, args) = split_word(rest);
                if what == "pack" {
                    self.pragma_pack(args, start)?;
                }
            }
            "ident" | "sccs" | "error" | "warning" => {}
            "include" | "include_next" | "import" => {
                return Err(self.err(
                    start,
                    format!(
                        "#{word} is not handled by cdef (it has no preprocessor): use \
                         ferrotypes.include(header) to read a header as the C compiler sees it"
                    ),
                ))
            }
            "if" | "ifdef" | "ifndef" | "elif" | "else" | "endif" | "elifdef" | "elifndef" => {
                return Err(self.err(
                    start,
                    format!(
                        "#{word}: conditionals need a preprocessor; use ferrotypes.include(header), \
                         which runs the C compiler's"
                    ),
                ))
            }
            other => return Err(self.err(start, format!("unknown directive '#{other}'"))),
        }
        Ok(())
    }

    fn line_marker(&mut self, num: &str, rest: &str, start: usize) -> Result<(), CDeclError> {
        let n: u32 = num
            .parse()
            .map_err(|_| self.err(start, format!("bad line number '{num}'")))?;
        let rest = rest.trim();
        if let Some(q) = rest.strip_prefix('"') {
            let end = q.rfind('"').unwrap_or(q.len());
            let name: Cow<'_, str> = if q[..end].contains('\\') {
                String::from_utf8_lossy(&unescape(&q[..end]).unwrap_or_default())
                    .into_owned()
                    .into()
            } else {
                Cow::Borrowed(&q[..end])
            };
            self.file = match self.out.files.iter().position(|f| *f == name) {
                Some(i) => i as u32,
                None => {
                    self.out.files.push(name.into_owned());
                    (self.out.files.len() - 1) as u32
                }
            };
        }
        // The marker names the number of the line that follows it.
        self.line = n.saturating_sub(1);
        Ok(())
    }

    fn pragma_pack(&mut self, args: &str, start: usize) -> Result<(), CDeclError> {
        let inner = args.trim().trim_start_matches('(').trim_end_matches(')');
        let parts: Vec<&str> = inner
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        let parse_num = |s: &str| -> Result<Option<u64>, String> {
            let v: u64 = s
                .parse()
                .map_err(|_| format!("#pragma pack: expected a number, got '{s}'"))?;
            if v == 0 {
                Ok(None)
            } else if v.is_power_of_two() && v <= 16 {
                Ok(Some(v))
            } else {
                Err(format!("#pragma pack: {v} is not a power of two up to 16"))
            }
        };
        let res = match parts.as_slice() {
            [] => Ok(None),
            ["push"] => {
                self.pack_stack.push(self.pack);
                Ok(self.pack)
            }
            ["push", n] => {
                self.pack_stack.push(self.pack);
                parse_num(n)
            }
            ["pop"] | ["pop", _] => Ok(self.pack_stack.pop().unwrap_or(None)),
            [n] => parse_num(n),
            _ => Err(format!("#pragma pack: cannot read '{args}'")),
        };
        self.pack = res.map_err(|m| self.err(start, m))?;
        self.out.packs.push((self.out.tokens.len(), self.pack));
        Ok(())
    }
}

fn split_word(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    let end = if end == 0 && !s.is_empty() {
        s.find(char::is_whitespace).unwrap_or(s.len())
    } else {
        end
    };
    (&s[..end], &s[end..])
}

/// The whole line of `src` containing byte `offset`.
pub fn line_text(src: &str, offset: usize) -> String {
    let offset = offset.min(src.len());
    let start = src[..offset].rfind('\n').map_or(0, |i| i + 1);
    let end = src[offset..].find('\n').map_or(src.len(), |i| offset + i);
    src[start..end].to_string()
}

/// Decodes C escapes in a string or character literal's body into bytes (UTF-8 for `\u`).
pub fn unescape(body: &str) -> Result<Vec<u8>, String> {
    let b = body.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        i += 1;
        let c = *b.get(i).ok_or("a backslash ends the literal")?;
        i += 1;
        match c {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'v' => out.push(11),
            b'e' => out.push(27),
            b'\\' | b'\'' | b'"' | b'?' => out.push(c),
            b'0'..=b'7' => {
                let mut v = (c - b'0') as u32;
                for _ in 0..2 {
                    match b.get(i) {
                        Some(d @ b'0'..=b'7') => {
                            v = v * 8 + (d - b'0') as u32;
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push((v & 0xff) as u8);
            }
            b'x' => {
                let mut v: u32 = 0;
                let mut n = 0;
                while let Some(d) = b.get(i).and_then(|d| (*d as char).to_digit(16)) {
                    v = v.wrapping_mul(16).wrapping_add(d);
                    i += 1;
                    n += 1;
                }
                if n == 0 {
                    return Err("\\x with no hex digits".into());
                }
                out.push((v & 0xff) as u8);
            }
            b'u' | b'U' => {
                let n = if c == b'u' { 4 } else { 8 };
                let hex = body
                    .get(i..i + n)
                    .ok_or("incomplete universal character name")?;
                let v = u32::from_str_radix(hex, 16).map_err(|_| "bad universal character name")?;
                let ch = char::from_u32(v).ok_or("universal character name out of range")?;
                let mut buf = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                i += n;
            }
            other => out.push(other),
        }
    }
    Ok(out)
}
