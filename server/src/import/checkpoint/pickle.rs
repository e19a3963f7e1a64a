//! A pickle virtual machine for the opcodes `torch.save` emits (protocols 2–5), with no
//! Python behind it: globals are recorded by name and calls to them become opaque
//! objects, except `collections.OrderedDict`, which builds a plain dict.
//!
//! Containers live in an arena addressed by index, so that memo references share them as
//! Python does, copying a value is O(1), and no input can build a value whose drop or
//! clone recurses deeply. Every limit is checked: this parser reads untrusted bytes.

use std::collections::HashMap;

/// Cap on the stack, the memo and the arena, far above what any state dict needs.
const MAX_ITEMS: usize = 1 << 22;

/// A pickled value; containers and objects are indices into [`Pickle::nodes`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    None,
    Bool(bool),
    Int(i128),
    Float(f64),
    Node(usize),
}

#[derive(Debug)]
pub enum Node {
    Str(String),
    Bytes(Vec<u8>),
    Tuple(Vec<Value>),
    List(Vec<Value>),
    /// Insertion-ordered, as `OrderedDict` and Python 3.7+ dicts are.
    Dict(Vec<(Value, Value)>),
    Set(Vec<Value>),
    Global {
        module: String,
        name: String,
    },
    /// A call we do not evaluate (REDUCE, NEWOBJ); BUILD records its state.
    Object {
        callable: Value,
        args: Value,
        state: Option<Value>,
    },
    /// A reference to data outside the pickle, resolved by the caller (BINPERSID).
    PersistentId(Value),
}

/// One unpickled object and the arena its containers live in.
#[derive(Debug)]
pub struct Pickle {
    pub nodes: Vec<Node>,
    pub root: Value,
}

#[derive(Debug, PartialEq)]
pub enum PickleError {
    /// The bytes end before the STOP opcode.
    Truncated,
    Invalid {
        offset: usize,
        reason: String,
    },
}

/// Unpickles the object that starts at `bytes[start..]`; returns it and the offset just
/// past its STOP opcode, where the next pickle (if any) starts.
pub fn parse(bytes: &[u8], start: usize) -> Result<(Pickle, usize), PickleError> {
    let mut machine = Machine {
        bytes,
        pos: start,
        op_start: start,
        stack: Vec::new(),
        marks: Vec::new(),
        memo: HashMap::new(),
        nodes: Vec::new(),
    };
    let root = machine.run()?;
    let pickle = Pickle {
        nodes: machine.nodes,
        root,
    };
    Ok((pickle, machine.pos))
}

impl Pickle {
    pub fn node(&self, value: Value) -> Option<&Node> {
        match value {
            Value::Node(index) => self.nodes.get(index),
            _ => None,
        }
    }

    pub fn str(&self, value: Value) -> Option<&str> {
        match self.node(value)? {
            Node::Str(text) => Some(text),
            _ => None,
        }
    }

    /// The items of a tuple or a list.
    pub fn items(&self, value: Value) -> Option<&[Value]> {
        match self.node(value)? {
            Node::Tuple(items) | Node::List(items) => Some(items),
            _ => None,
        }
    }

    pub fn dict(&self, value: Value) -> Option<&[(Value, Value)]> {
        match self.node(value)? {
            Node::Dict(entries) => Some(entries),
            _ => None,
        }
    }

    /// `(module, name)` of a global.
    pub fn global(&self, value: Value) -> Option<(&str, &str)> {
        match self.node(value)? {
            Node::Global { module, name } => Some((module, name)),
            _ => None,
        }
    }

    /// Looks a string key up in a dict.
    pub fn get(&self, dict: Value, key: &str) -> Option<Value> {
        let entries = self.dict(dict)?;
        entries
            .iter()
            .find(|(k, _)| self.str(*k) == Some(key))
            .map(|(_, v)| *v)
    }

    /// A short, non-recursive description of a value for error messages.
    pub fn describe(&self, value: Value) -> String {
        match value {
            Value::None => "None".into(),
            Value::Bool(b) => if b { "True" } else { "False" }.into(),
            Value::Int(i) => format!("the integer {i}"),
            Value::Float(f) => format!("the number {f}"),
            Value::Node(_) => match self.node(value) {
                Some(Node::Str(text)) => format!("the string {:?}", clip(text)),
                Some(Node::Bytes(b)) => format!("{} bytes", b.len()),
                Some(Node::Tuple(items)) => format!("a tuple of {} items", items.len()),
                Some(Node::List(items)) => format!("a list of {} items", items.len()),
                Some(Node::Set(items)) => format!("a set of {} items", items.len()),
                Some(Node::Dict(entries)) => format!("a dict with {} entries", entries.len()),
                Some(Node::Global { module, name }) => format!("the Python name `{module}.{name}`"),
                Some(Node::Object { callable, .. }) => match self.global(*callable) {
                    Some((module, name)) => format!("a Python object built by `{module}.{name}`"),
                    None => "a Python object".into(),
                },
                Some(Node::PersistentId(_)) => "a storage reference".into(),
                None => "nothing".into(),
            },
        }
    }
}

fn clip(text: &str) -> String {
    text.chars().take(60).collect()
}

struct Machine<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// Where the opcode being executed starts, for error messages.
    op_start: usize,
    stack: Vec<Value>,
    marks: Vec<usize>,
    memo: HashMap<u32, Value>,
    nodes: Vec<Node>,
}

impl Machine<'_> {
    fn run(&mut self) -> Result<Value, PickleError> {
        loop {
            self.op_start = self.pos;
            let op = self.take(1)?[0];
            match op {
                0x80 => {
                    self.take(1)?; // PROTO: every protocol's opcodes are accepted
                }
                0x95 => {
                    self.take(8)?; // FRAME: frames are transparent to a reader of the whole pickle
                }
                b'.' => return self.pop(), // STOP
                b'(' => {
                    self.check_len(self.marks.len())?;
                    self.marks.push(self.stack.len());
                }
                b'0' => {
                    self.pop()?;
                }
                b'1' => {
                    self.pop_mark()?;
                }
                b'2' => {
                    let top = self.top()?;
                    self.push(top)?;
                }
                b'N' => self.push(Value::None)?,
                0x88 => self.push(Value::Bool(true))?,
                0x89 => self.push(Value::Bool(false))?,
                b'J' => {
                    let n = i32::from_le_bytes(self.array()?);
                    self.push(Value::Int(n.into()))?;
                }
                b'K' => {
                    let n = self.take(1)?[0];
                    self.push(Value::Int(n.into()))?;
                }
                b'M' => {
                    let n = u16::from_le_bytes(self.array()?);
                    self.push(Value::Int(n.into()))?;
                }
                0x8a => {
                    let len = self.take(1)?[0].into();
                    self.long(len)?;
                }
                0x8b => {
                    let len = self.len_u32()?;
                    self.long(len)?;
                }
                b'I' | b'L' => {
                    // INT and LONG (protocol 0): decimal text; INT spells booleans 00 and 01.
                    let line = self.line()?;
                    let text = line.trim_end_matches('L');
                    let value = match text {
                        "00" => Value::Bool(false),
                        "01" => Value::Bool(true),
                        _ => Value::Int(text.parse().map_err(|_| self.invalid("bad integer"))?),
                    };
                    self.push(value)?;
                }
                b'G' => {
                    let f = f64::from_be_bytes(self.array()?);
                    self.push(Value::Float(f))?;
                }
                b'F' => {
                    let f = self
                        .line()?
                        .parse()
                        .map_err(|_| self.invalid("bad float"))?;
                    self.push(Value::Float(f))?;
                }
                b'X' => {
                    let len = self.len_u32()?;
                    self.string(len)?;
                }
                0x8c => {
                    let len = self.take(1)?[0].into();
                    self.string(len)?;
                }
                0x8d => {
                    let len = self.len_u64()?;
                    self.string(len)?;
                }
                // BINSTRING, SHORT_BINSTRING: Python 2 `str`; torch.load decodes them as UTF-8.
                b'T' => {
                    let len = self.len_u32()?;
                    self.string(len)?;
                }
                b'U' => {
                    let len = self.take(1)?[0].into();
                    self.string(len)?;
                }
                b'B' => {
                    let len = self.len_u32()?;
                    self.bytes(len)?;
                }
                b'C' => {
                    let len = self.take(1)?[0].into();
                    self.bytes(len)?;
                }
                0x8e | 0x96 => {
                    let len = self.len_u64()?;
                    self.bytes(len)?;
                }
                b')' => self.push_node(Node::Tuple(Vec::new()))?,
                b']' => self.push_node(Node::List(Vec::new()))?,
                b'}' => self.push_node(Node::Dict(Vec::new()))?,
                0x8f => self.push_node(Node::Set(Vec::new()))?,
                0x85..=0x87 => {
                    let len = usize::from(op - 0x84);
                    let floor = self.marks.last().copied().unwrap_or(0);
                    let at = self.stack.len().checked_sub(len).filter(|&at| at >= floor);
                    let at = at.ok_or_else(|| self.underflow())?;
                    let items = self.stack.split_off(at);
                    self.push_node(Node::Tuple(items))?;
                }
                b't' => {
                    let items = self.pop_mark()?;
                    self.push_node(Node::Tuple(items))?;
                }
                b'l' => {
                    let items = self.pop_mark()?;
                    self.push_node(Node::List(items))?;
                }
                0x91 => {
                    let items = self.pop_mark()?;
                    self.push_node(Node::Set(items))?;
                }
                b'd' => {
                    let items = self.pop_mark()?;
                    let entries =
                        pairs(items).ok_or_else(|| self.invalid("odd number of dict items"))?;
                    self.push_node(Node::Dict(entries))?;
                }
                b'a' => {
                    let item = self.pop()?;
                    self.extend(vec![item])?;
                }
                b'e' | 0x90 => {
                    let items = self.pop_mark()?;
                    self.extend(items)?;
                }
                b's' => {
                    let value = self.pop()?;
                    let key = self.pop()?;
                    self.set_items(vec![(key, value)])?;
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    let entries =
                        pairs(items).ok_or_else(|| self.invalid("odd number of dict items"))?;
                    self.set_items(entries)?;
                }
                b'c' => {
                    let module = self.line()?.to_owned();
                    let name = self.line()?.to_owned();
                    self.push_node(Node::Global { module, name })?;
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    let (Some(Node::Str(module)), Some(Node::Str(name))) =
                        (self.node(module), self.node(name))
                    else {
                        return Err(self.invalid("STACK_GLOBAL needs two strings"));
                    };
                    let global = Node::Global {
                        module: module.clone(),
                        name: name.clone(),
                    };
                    self.push_node(global)?;
                }
                b'R' | 0x81 => {
                    let args = self.pop()?;
                    let callable = self.pop()?;
                    self.call(callable, args)?;
                }
                0x92 => {
                    self.pop()?; // NEWOBJ_EX keyword arguments: never needed to build a tensor
                    let args = self.pop()?;
                    let callable = self.pop()?;
                    self.call(callable, args)?;
                }
                b'b' => {
                    let state = self.pop()?;
                    // Dicts (OrderedDict's `_metadata`) and plain values keep no state.
                    if let Value::Node(index) = self.top()? {
                        if let Some(Node::Object { state: slot, .. }) = self.nodes.get_mut(index) {
                            *slot = Some(state);
                        }
                    }
                }
                b'Q' => {
                    let id = self.pop()?;
                    self.push_node(Node::PersistentId(id))?;
                }
                b'q' => {
                    let key = self.take(1)?[0].into();
                    self.memo_put(key)?;
                }
                b'r' => {
                    let key = u32::from_le_bytes(self.array()?);
                    self.memo_put(key)?;
                }
                0x94 => {
                    let key =
                        u32::try_from(self.memo.len()).map_err(|_| self.invalid("memo full"))?;
                    self.memo_put(key)?;
                }
                b'p' => {
                    let key = self
                        .line()?
                        .parse()
                        .map_err(|_| self.invalid("bad memo key"))?;
                    self.memo_put(key)?;
                }
                b'h' => {
                    let key = self.take(1)?[0].into();
                    self.memo_get(key)?;
                }
                b'j' => {
                    let key = u32::from_le_bytes(self.array()?);
                    self.memo_get(key)?;
                }
                b'g' => {
                    let key = self
                        .line()?
                        .parse()
                        .map_err(|_| self.invalid("bad memo key"))?;
                    self.memo_get(key)?;
                }
                _ => return Err(self.invalid(&format!("unsupported pickle opcode 0x{op:02x}"))),
            }
        }
    }

    fn invalid(&self, reason: &str) -> PickleError {
        PickleError::Invalid {
            offset: self.op_start,
            reason: reason.to_owned(),
        }
    }

    fn underflow(&self) -> PickleError {
        self.invalid("stack underflow")
    }

    fn take(&mut self, len: usize) -> Result<&[u8], PickleError> {
        let end = self
            .pos
            .checked_add(len)
            .filter(|&end| end <= self.bytes.len());
        let end = end.ok_or(PickleError::Truncated)?;
        let taken = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(taken)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], PickleError> {
        let mut array = [0; N];
        array.copy_from_slice(self.take(N)?);
        Ok(array)
    }

    fn len_u32(&mut self) -> Result<usize, PickleError> {
        let len = u32::from_le_bytes(self.array()?);
        usize::try_from(len).map_err(|_| PickleError::Truncated)
    }

    fn len_u64(&mut self) -> Result<usize, PickleError> {
        // A length beyond the address space cannot fit in the remaining bytes either.
        let len = u64::from_le_bytes(self.array()?);
        usize::try_from(len).map_err(|_| PickleError::Truncated)
    }

    /// A newline-terminated ASCII argument (GLOBAL and the protocol 0 opcodes).
    fn line(&mut self) -> Result<&str, PickleError> {
        let rest = &self.bytes[self.pos..];
        let len = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or(PickleError::Truncated)?;
        let line = std::str::from_utf8(&rest[..len])
            .map_err(|_| self.invalid("non-UTF-8 text argument"))?;
        self.pos += len + 1;
        Ok(line)
    }

    /// LONG1 and LONG4: little-endian two's complement of `len` bytes.
    fn long(&mut self, len: usize) -> Result<(), PickleError> {
        if len > 16 {
            return Err(self.invalid("integer wider than 128 bits"));
        }
        let bytes = self.take(len)?;
        let fill = if bytes.last().is_some_and(|&b| b & 0x80 != 0) {
            0xff
        } else {
            0
        };
        let mut wide = [fill; 16];
        wide[..len].copy_from_slice(bytes);
        self.push(Value::Int(i128::from_le_bytes(wide)))
    }

    fn string(&mut self, len: usize) -> Result<(), PickleError> {
        // Lossy: Python writes lone surrogates with `surrogatepass`, which Rust cannot hold.
        let text = String::from_utf8_lossy(self.take(len)?).into_owned();
        self.push_node(Node::Str(text))
    }

    fn bytes(&mut self, len: usize) -> Result<(), PickleError> {
        let bytes = self.take(len)?.to_vec();
        self.push_node(Node::Bytes(bytes))
    }

    fn check_len(&self, len: usize) -> Result<(), PickleError> {
        if len >= MAX_ITEMS {
            return Err(self.invalid("too many objects"));
        }
        Ok(())
    }

    fn push(&mut self, value: Value) -> Result<(), PickleError> {
        self.check_len(self.stack.len())?;
        self.stack.push(value);
        Ok(())
    }

    fn push_node(&mut self, node: Node) -> Result<(), PickleError> {
        self.check_len(self.nodes.len())?;
        self.nodes.push(node);
        self.push(Value::Node(self.nodes.len() - 1))
    }

    fn pop(&mut self) -> Result<Value, PickleError> {
        // A MARK hides what lies below it.
        if self.marks.last() == Some(&self.stack.len()) {
            return Err(self.underflow());
        }
        self.stack.pop().ok_or_else(|| self.underflow())
    }

    fn top(&self) -> Result<Value, PickleError> {
        self.stack.last().copied().ok_or_else(|| self.underflow())
    }

    fn pop_mark(&mut self) -> Result<Vec<Value>, PickleError> {
        let mark = self
            .marks
            .pop()
            .ok_or_else(|| self.invalid("no MARK to pop to"))?;
        Ok(self.stack.split_off(mark.min(self.stack.len())))
    }

    fn node(&self, value: Value) -> Option<&Node> {
        match value {
            Value::Node(index) => self.nodes.get(index),
            _ => None,
        }
    }

    fn top_node(&mut self) -> Result<&mut Node, PickleError> {
        let Value::Node(index) = self.top()? else {
            return Err(self.invalid("expected a container on the stack"));
        };
        if index >= self.nodes.len() {
            return Err(self.underflow());
        }
        Ok(&mut self.nodes[index])
    }

    /// APPEND(S) and ADDITEMS.
    fn extend(&mut self, items: Vec<Value>) -> Result<(), PickleError> {
        match self.top_node()? {
            Node::List(list) | Node::Set(list) => list.extend(items),
            // An opaque object's items (e.g. a list subclass) are never needed for tensors.
            Node::Object { .. } => {}
            _ => return Err(self.invalid("APPEND to something that is not a list")),
        }
        Ok(())
    }

    /// SETITEM(S).
    fn set_items(&mut self, entries: Vec<(Value, Value)>) -> Result<(), PickleError> {
        match self.top_node()? {
            Node::Dict(dict) => dict.extend(entries),
            Node::Object { .. } => {}
            _ => return Err(self.invalid("SETITEM on something that is not a dict")),
        }
        Ok(())
    }

    /// REDUCE and NEWOBJ. Only the dict constructors are evaluated; everything else,
    /// including tensor rebuilds, is left for the caller to interpret.
    fn call(&mut self, callable: Value, args: Value) -> Result<(), PickleError> {
        let is_dict = matches!(
            self.node(callable),
            Some(Node::Global { module, name })
                if module == "collections" && (name == "OrderedDict" || name == "defaultdict")
        );
        let node = if is_dict {
            Node::Dict(Vec::new())
        } else {
            Node::Object {
                callable,
                args,
                state: None,
            }
        };
        self.push_node(node)
    }

    fn memo_put(&mut self, key: u32) -> Result<(), PickleError> {
        let value = self.top()?;
        if !self.memo.contains_key(&key) {
            self.check_len(self.memo.len())?;
        }
        self.memo.insert(key, value);
        Ok(())
    }

    fn memo_get(&mut self, key: u32) -> Result<(), PickleError> {
        let value = *self
            .memo
            .get(&key)
            .ok_or_else(|| self.invalid("memo key not found"))?;
        self.push(value)
    }
}

fn pairs(items: Vec<Value>) -> Option<Vec<(Value, Value)>> {
    if !items.len().is_multiple_of(2) {
        return None;
    }
    let mut items = items.into_iter();
    let mut entries = Vec::with_capacity(items.len() / 2);
    while let (Some(key), Some(value)) = (items.next(), items.next()) {
        entries.push((key, value));
    }
    Some(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_ordered_dict_with_shared_memo_entries() {
        // OrderedDict([('a', 1), ('b', 1)]) where 'b''s value is fetched from the memo.
        let bytes = b"\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01(X\x01\x00\x00\x00aK\x01q\x02X\x01\x00\x00\x00bh\x02u.";
        let (pickle, end) = parse(bytes, 0).unwrap();
        assert_eq!(end, bytes.len());
        let entries = pickle.dict(pickle.root).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(pickle.get(pickle.root, "b"), Some(Value::Int(1)));
    }

    #[test]
    fn reads_negative_and_wide_longs() {
        let (pickle, _) = parse(b"\x8a\x01\xff.", 0).unwrap();
        assert_eq!(pickle.root, Value::Int(-1));
        let (pickle, _) = parse(b"\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.", 0).unwrap();
        assert_eq!(pickle.root, Value::Int(0x1950a86a20f9469cfc6c));
    }

    #[test]
    fn mark_hides_the_stack_below_it() {
        assert!(matches!(
            parse(b"K\x01(0.", 0),
            Err(PickleError::Invalid { .. })
        ));
    }

    #[test]
    fn never_panics_on_prefixes_or_junk() {
        let bytes = b"\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01(X\x01\x00\x00\x00aK\x01u.";
        for end in 0..bytes.len() {
            assert_eq!(parse(&bytes[..end], 0).unwrap_err(), PickleError::Truncated);
        }
        for seed in 0..2000u32 {
            let junk: Vec<u8> = (0..64u32)
                .map(|i| {
                    (seed
                        .wrapping_mul(2_654_435_761)
                        .wrapping_add(i.wrapping_mul(40_503))
                        >> 7) as u8
                })
                .collect();
            let _ = parse(&junk, 0);
        }
    }
}
