//! fail2ban's wire format: requests are pickled lists of strings, replies are pickles of
//! `(code, value)` (or a bare `"ERROR: …"` string), each followed by `<F2B_END_COMMAND>`.
//!
//! We write our own small pickle machine because replies carry IPs as `builtins.str`
//! REDUCE calls and errors as pickled exception objects, which generic pickle crates
//! cannot decode. The decoder implements the opcode set of PROTOCOL.md §3.4 and is
//! bounded: replies above [`MAX_REPLY_BYTES`], memo tables above [`MAX_MEMO`] entries and
//! memo copies that would blow up memory are refused, never allocated.

use std::fmt;

/// Ends every request and reply on the socket.
pub const END_COMMAND: &[u8] = b"<F2B_END_COMMAND>";
/// Sent (followed by [`END_COMMAND`]) to close a connection politely.
pub const CLOSE_COMMAND: &[u8] = b"<F2B_CLOSE_COMMAND>";
/// The largest reply we accept (100 000 banned IPs are about 5 MiB).
pub const MAX_REPLY_BYTES: usize = 32 * 1024 * 1024;
/// The largest memo table we keep (a 20 000-IP reply used about 60 000 entries).
pub const MAX_MEMO: usize = 2_000_000;
/// How many value nodes memo copies (BINGET) may add in total, per input byte.
const COPY_BUDGET_PER_BYTE: usize = 4;
/// How deeply containers may nest.
const MAX_DEPTH: usize = 64;

/// A decoded Python value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    List(Vec<Value>),
    Tuple(Vec<Value>),
    Dict(Vec<(Value, Value)>),
    Set(Vec<Value>),
    /// A reference to a Python global, e.g. an exception class.
    Global {
        module: String,
        name: String,
    },
    /// A reconstructed object we do not model (exceptions): `module.name(*args)`.
    Object {
        module: String,
        name: String,
        args: Vec<Value>,
    },
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Bool(b) => Some(i64::from(*b)),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            Value::Int(i) => Some(*i != 0),
            _ => None,
        }
    }

    /// Lists, tuples and sets alike.
    pub fn as_seq(&self) -> Option<&[Value]> {
        match self {
            Value::List(v) | Value::Tuple(v) | Value::Set(v) => Some(v),
            _ => None,
        }
    }

    /// The number of nodes in this value, for the copy budget.
    fn weight(&self) -> usize {
        match self {
            Value::List(v) | Value::Tuple(v) | Value::Set(v) => {
                1 + v.iter().map(Value::weight).sum::<usize>()
            }
            Value::Dict(kv) => {
                1 + kv
                    .iter()
                    .map(|(k, v)| k.weight() + v.weight())
                    .sum::<usize>()
            }
            Value::Object { args, .. } => 1 + args.iter().map(Value::weight).sum::<usize>(),
            Value::Str(s) => 1 + s.len() / 64,
            Value::Bytes(b) => 1 + b.len() / 64,
            _ => 1,
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::None => f.write_str("None"),
            Value::Bool(b) => f.write_str(if *b { "True" } else { "False" }),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Str(s) => write!(f, "{s:?}"),
            Value::Bytes(b) => write!(f, "b{:?}", String::from_utf8_lossy(b)),
            Value::List(v) => write!(f, "[{}]", join(v)),
            Value::Tuple(v) => write!(f, "({})", join(v)),
            Value::Set(v) => write!(f, "{{{}}}", join(v)),
            Value::Dict(kv) => {
                let items: Vec<String> = kv.iter().map(|(k, v)| format!("{k}: {v}")).collect();
                write!(f, "{{{}}}", items.join(", "))
            }
            Value::Global { module, name } => write!(f, "{module}.{name}"),
            Value::Object { module, name, args } => write!(f, "{module}.{name}({})", join(args)),
        }
    }
}

fn join(v: &[Value]) -> String {
    v.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("the reply ended in the middle of a pickle")]
    Truncated,
    #[error("unsupported pickle opcode 0x{0:02x}")]
    UnknownOpcode(u8),
    #[error("malformed pickle: {0}")]
    Malformed(&'static str),
    #[error("the reply is larger than {MAX_REPLY_BYTES} bytes")]
    TooLarge,
    #[error("the reply's memo table or copies exceed their limits")]
    MemoLimit,
}

/// What a request argument may not be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArgumentError {
    #[error("argument contains the reserved marker <F2B_")]
    ReservedMarker,
    #[error("argument contains a NUL byte")]
    Nul,
}

/// Refuses arguments that could split or corrupt the framing.
pub fn check_argument(arg: &str) -> Result<(), ArgumentError> {
    if arg.contains("<F2B_") {
        return Err(ArgumentError::ReservedMarker);
    }
    if arg.contains('\0') {
        return Err(ArgumentError::Nul);
    }
    Ok(())
}

/// Pickles a request (protocol 2, every string as BINUNICODE so that no length prefix can
/// form part of the terminator) and appends the terminator.
pub fn encode_request<S: AsRef<str>>(args: &[S]) -> Result<Vec<u8>, ArgumentError> {
    let mut out = Vec::with_capacity(8 + args.iter().map(|a| a.as_ref().len() + 5).sum::<usize>());
    out.extend_from_slice(&[0x80, 0x02, b']']);
    if !args.is_empty() {
        out.push(b'(');
        for arg in args {
            let arg = arg.as_ref();
            check_argument(arg)?;
            out.push(b'X');
            out.extend_from_slice(&u32::try_from(arg.len()).unwrap_or(u32::MAX).to_le_bytes());
            out.extend_from_slice(arg.as_bytes());
        }
        out.push(b'e');
    }
    out.push(b'.');
    out.extend_from_slice(END_COMMAND);
    Ok(out)
}

/// A Python exception raised by the server for a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerError {
    /// `module.Class`, e.g. `fail2ban.exceptions.UnknownJailException`.
    pub class: String,
    pub message: String,
}

impl ServerError {
    pub fn is_unknown_jail(&self) -> bool {
        self.class.ends_with("UnknownJailException")
    }
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.class, self.message)
    }
}

/// The meaning of a whole reply.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Ok(Value),
    /// `(1, exception)`.
    Raised(ServerError),
    /// A bare `"ERROR: …"` string: the server could not even run the command.
    ProtocolError(String),
}

/// Decodes one reply body (without the terminator) and interprets the envelope.
pub fn decode_reply(body: &[u8]) -> Result<Reply, DecodeError> {
    match decode(body)? {
        Value::Tuple(mut items) if items.len() == 2 => {
            let value = items.pop().unwrap_or(Value::None);
            match items.pop().and_then(|c| c.as_int()) {
                Some(0) => Ok(Reply::Ok(value)),
                Some(_) => Ok(Reply::Raised(exception_of(value))),
                None => Err(DecodeError::Malformed("the reply code is not an int")),
            }
        }
        Value::Str(s) => Ok(Reply::ProtocolError(s)),
        _ => Err(DecodeError::Malformed(
            "the reply is neither (code, value) nor a string",
        )),
    }
}

fn exception_of(value: Value) -> ServerError {
    match value {
        Value::Object { module, name, args } => ServerError {
            class: format!("{module}.{name}"),
            message: match args.first() {
                Some(Value::Str(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => String::new(),
            },
        },
        other => ServerError {
            class: "unknown".into(),
            message: other.to_string(),
        },
    }
}

/// Decodes one pickle.
pub fn decode(input: &[u8]) -> Result<Value, DecodeError> {
    if input.len() > MAX_REPLY_BYTES {
        return Err(DecodeError::TooLarge);
    }
    Machine {
        input,
        pos: 0,
        stack: Vec::new(),
        marks: Vec::new(),
        memo: Vec::new(),
        copy_budget: input.len().saturating_mul(COPY_BUDGET_PER_BYTE),
    }
    .run()
}

struct Machine<'a> {
    input: &'a [u8],
    pos: usize,
    stack: Vec<Value>,
    marks: Vec<usize>,
    memo: Vec<Option<Value>>,
    copy_budget: usize,
}

impl<'a> Machine<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n).ok_or(DecodeError::Truncated)?;
        let bytes = self
            .input
            .get(self.pos..end)
            .ok_or(DecodeError::Truncated)?;
        self.pos = end;
        Ok(bytes)
    }

    fn byte(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, DecodeError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, DecodeError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<u64, DecodeError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    fn len_u64(&mut self) -> Result<usize, DecodeError> {
        usize::try_from(self.u64()?).map_err(|_| DecodeError::Truncated)
    }

    fn line(&mut self) -> Result<&'a str, DecodeError> {
        let rest = &self.input[self.pos..];
        let nl = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or(DecodeError::Truncated)?;
        let line = std::str::from_utf8(&rest[..nl])
            .map_err(|_| DecodeError::Malformed("non-UTF-8 text line"))?;
        self.pos += nl + 1;
        Ok(line)
    }

    fn text(&mut self, n: usize) -> Result<String, DecodeError> {
        let bytes = self.take(n)?;
        String::from_utf8(bytes.to_vec())
            .map_err(|_| DecodeError::Malformed("invalid UTF-8 in a string"))
    }

    /// Python 2 byte strings: UTF-8 when valid, else latin-1.
    fn legacy_text(&mut self, n: usize) -> Result<String, DecodeError> {
        let bytes = self.take(n)?;
        Ok(match std::str::from_utf8(bytes) {
            Ok(s) => s.to_owned(),
            Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
        })
    }

    fn push(&mut self, v: Value) {
        self.stack.push(v);
    }

    fn pop(&mut self) -> Result<Value, DecodeError> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() <= floor {
            return Err(DecodeError::Malformed("stack underflow"));
        }
        self.stack
            .pop()
            .ok_or(DecodeError::Malformed("stack underflow"))
    }

    fn top_mut(&mut self) -> Result<&mut Value, DecodeError> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() <= floor {
            return Err(DecodeError::Malformed("stack underflow"));
        }
        self.stack
            .last_mut()
            .ok_or(DecodeError::Malformed("stack underflow"))
    }

    fn pop_to_mark(&mut self) -> Result<Vec<Value>, DecodeError> {
        let mark = self
            .marks
            .pop()
            .ok_or(DecodeError::Malformed("no MARK on the stack"))?;
        Ok(self.stack.split_off(mark))
    }

    fn memo_put(&mut self, idx: usize) -> Result<(), DecodeError> {
        if idx >= MAX_MEMO {
            return Err(DecodeError::MemoLimit);
        }
        let top = self.top_mut()?.clone();
        if idx >= self.memo.len() {
            self.memo.resize(idx + 1, None);
        }
        self.memo[idx] = Some(top);
        Ok(())
    }

    fn memo_get(&mut self, idx: usize) -> Result<(), DecodeError> {
        let value = self
            .memo
            .get(idx)
            .and_then(Option::as_ref)
            .ok_or(DecodeError::Malformed("BINGET of an empty memo slot"))?;
        let weight = value.weight();
        self.copy_budget = self
            .copy_budget
            .checked_sub(weight)
            .ok_or(DecodeError::MemoLimit)?;
        let copy = value.clone();
        self.push(copy);
        Ok(())
    }

    fn check_depth(&self, v: &Value) -> Result<(), DecodeError> {
        fn depth(v: &Value, d: usize) -> usize {
            if d > MAX_DEPTH {
                return d;
            }
            match v {
                Value::List(xs) | Value::Tuple(xs) | Value::Set(xs) => {
                    xs.iter().map(|x| depth(x, d + 1)).max().unwrap_or(d)
                }
                Value::Dict(kv) => kv.iter().map(|(_, x)| depth(x, d + 1)).max().unwrap_or(d),
                _ => d,
            }
        }
        if depth(v, 0) > MAX_DEPTH {
            Err(DecodeError::Malformed("containers nested too deeply"))
        } else {
            Ok(())
        }
    }

    fn reduce(callable: Value, args: Value) -> Result<Value, DecodeError> {
        let Value::Global { module, name } = callable else {
            return Err(DecodeError::Malformed(
                "REDUCE of something that is not a global",
            ));
        };
        let args = match args {
            Value::Tuple(a) => a,
            _ => return Err(DecodeError::Malformed("REDUCE arguments are not a tuple")),
        };
        let builtin = matches!(module.as_str(), "builtins" | "__builtin__");
        match (builtin, name.as_str(), args.as_slice()) {
            (true, "str" | "unicode", [Value::Str(s)]) => Ok(Value::Str(s.clone())),
            (true, "set" | "frozenset", [Value::List(items)]) => Ok(Value::Set(items.clone())),
            (true, "set" | "frozenset", []) => Ok(Value::Set(Vec::new())),
            _ => Ok(Value::Object { module, name, args }),
        }
    }

    fn run(mut self) -> Result<Value, DecodeError> {
        loop {
            let op = self.byte()?;
            match op {
                0x80 => {
                    self.byte()?; // PROTO: version noted, nothing depends on it
                }
                0x95 => {
                    self.u64()?; // FRAME: the frame's bytes follow inline
                }
                b'.' => {
                    let v = self.pop()?;
                    self.check_depth(&v)?;
                    return Ok(v);
                }
                b'(' => self.marks.push(self.stack.len()),
                b'0' => {
                    self.pop()?;
                }
                b'1' => {
                    self.pop_to_mark()?;
                }
                b'N' => self.push(Value::None),
                0x88 => self.push(Value::Bool(true)),
                0x89 => self.push(Value::Bool(false)),
                b'K' => {
                    let v = self.byte()?;
                    self.push(Value::Int(i64::from(v)));
                }
                b'M' => {
                    let v = self.u16()?;
                    self.push(Value::Int(i64::from(v)));
                }
                b'J' => {
                    let v = self.u32()? as i32;
                    self.push(Value::Int(i64::from(v)));
                }
                0x8a | 0x8b => {
                    let n = if op == 0x8a {
                        usize::from(self.byte()?)
                    } else {
                        self.u32()? as usize
                    };
                    let bytes = self.take(n)?;
                    self.push(Value::Int(long_to_i64(bytes)?));
                }
                b'I' => {
                    let line = self.line()?;
                    let v = match line {
                        "01" => Value::Bool(true),
                        "00" => Value::Bool(false),
                        digits => Value::Int(
                            digits
                                .trim()
                                .parse()
                                .map_err(|_| DecodeError::Malformed("bad INT"))?,
                        ),
                    };
                    self.push(v);
                }
                b'G' => {
                    let b = self.take(8)?;
                    let mut a = [0u8; 8];
                    a.copy_from_slice(b);
                    self.push(Value::Float(f64::from_be_bytes(a)));
                }
                0x8c => {
                    let n = usize::from(self.byte()?);
                    let s = self.text(n)?;
                    self.push(Value::Str(s));
                }
                b'X' => {
                    let n = self.u32()? as usize;
                    let s = self.text(n)?;
                    self.push(Value::Str(s));
                }
                0x8d => {
                    let n = self.len_u64()?;
                    let s = self.text(n)?;
                    self.push(Value::Str(s));
                }
                b'U' => {
                    let n = usize::from(self.byte()?);
                    let s = self.legacy_text(n)?;
                    self.push(Value::Str(s));
                }
                b'T' => {
                    let n = usize::try_from(self.u32()? as i32)
                        .map_err(|_| DecodeError::Malformed("negative length"))?;
                    let s = self.legacy_text(n)?;
                    self.push(Value::Str(s));
                }
                b'C' => {
                    let n = usize::from(self.byte()?);
                    let b = self.take(n)?.to_vec();
                    self.push(Value::Bytes(b));
                }
                b'B' => {
                    let n = self.u32()? as usize;
                    let b = self.take(n)?.to_vec();
                    self.push(Value::Bytes(b));
                }
                b']' => self.push(Value::List(Vec::new())),
                b'l' => {
                    let items = self.pop_to_mark()?;
                    self.push(Value::List(items));
                }
                b'a' => {
                    let v = self.pop()?;
                    match self.top_mut()? {
                        Value::List(items) => items.push(v),
                        _ => return Err(DecodeError::Malformed("APPEND to a non-list")),
                    }
                }
                b'e' => {
                    let new = self.pop_to_mark()?;
                    match self.top_mut()? {
                        Value::List(items) => items.extend(new),
                        _ => return Err(DecodeError::Malformed("APPENDS to a non-list")),
                    }
                }
                b')' => self.push(Value::Tuple(Vec::new())),
                b't' => {
                    let items = self.pop_to_mark()?;
                    self.push(Value::Tuple(items));
                }
                0x85..=0x87 => {
                    let n = usize::from(op - 0x84);
                    let mut items = Vec::with_capacity(n);
                    for _ in 0..n {
                        items.push(self.pop()?);
                    }
                    items.reverse();
                    self.push(Value::Tuple(items));
                }
                b'}' => self.push(Value::Dict(Vec::new())),
                b'd' => {
                    let items = self.pop_to_mark()?;
                    let pairs = pairs_of(items)?;
                    self.push(Value::Dict(pairs));
                }
                b's' => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    match self.top_mut()? {
                        Value::Dict(kv) => kv.push((k, v)),
                        _ => return Err(DecodeError::Malformed("SETITEM on a non-dict")),
                    }
                }
                b'u' => {
                    let items = self.pop_to_mark()?;
                    let pairs = pairs_of(items)?;
                    match self.top_mut()? {
                        Value::Dict(kv) => kv.extend(pairs),
                        _ => return Err(DecodeError::Malformed("SETITEMS on a non-dict")),
                    }
                }
                0x8f => self.push(Value::Set(Vec::new())),
                0x90 => {
                    let items = self.pop_to_mark()?;
                    match self.top_mut()? {
                        Value::Set(set) => set.extend(items),
                        _ => return Err(DecodeError::Malformed("ADDITEMS on a non-set")),
                    }
                }
                0x91 => {
                    let items = self.pop_to_mark()?;
                    self.push(Value::Set(items));
                }
                0x94 => {
                    let idx = self.memo.len();
                    self.memo_put(idx)?;
                }
                b'q' => {
                    let idx = usize::from(self.byte()?);
                    self.memo_put(idx)?;
                }
                b'r' => {
                    let idx = self.u32()? as usize;
                    self.memo_put(idx)?;
                }
                b'h' => {
                    let idx = usize::from(self.byte()?);
                    self.memo_get(idx)?;
                }
                b'j' => {
                    let idx = self.u32()? as usize;
                    self.memo_get(idx)?;
                }
                b'c' => {
                    let module = self.line()?.to_owned();
                    let name = self.line()?.to_owned();
                    self.push(Value::Global { module, name });
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    match (module, name) {
                        (Value::Str(module), Value::Str(name)) => {
                            self.push(Value::Global { module, name })
                        }
                        _ => return Err(DecodeError::Malformed("STACK_GLOBAL of non-strings")),
                    }
                }
                b'R' | 0x81 => {
                    let args = self.pop()?;
                    let callable = self.pop()?;
                    let v = Self::reduce(callable, args)?;
                    self.push(v);
                }
                b'b' => {
                    self.pop()?; // BUILD: object state we do not model
                }
                other => return Err(DecodeError::UnknownOpcode(other)),
            }
        }
    }
}

fn pairs_of(items: Vec<Value>) -> Result<Vec<(Value, Value)>, DecodeError> {
    if !items.len().is_multiple_of(2) {
        return Err(DecodeError::Malformed("odd number of dict items"));
    }
    let mut it = items.into_iter();
    let mut pairs = Vec::new();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        pairs.push((k, v));
    }
    Ok(pairs)
}

/// Little-endian two's complement of any length, when it fits an i64.
fn long_to_i64(bytes: &[u8]) -> Result<i64, DecodeError> {
    if bytes.is_empty() {
        return Ok(0);
    }
    if bytes.len() > 8 {
        let sign_fill = if bytes[bytes.len() - 1] & 0x80 != 0 {
            0xff
        } else {
            0
        };
        let low_sign = if bytes[7] & 0x80 != 0 { 0xff } else { 0 };
        if low_sign != sign_fill || bytes[8..].iter().any(|&b| b != sign_fill) {
            return Err(DecodeError::Malformed("integer does not fit 64 bits"));
        }
    }
    let negative = bytes[bytes.len().min(8) - 1] & 0x80 != 0;
    let mut buf = if negative { [0xffu8; 8] } else { [0u8; 8] };
    let n = bytes.len().min(8);
    buf[..n].copy_from_slice(&bytes[..n]);
    Ok(i64::from_le_bytes(buf))
}

#[cfg(test)]
mod tests;
