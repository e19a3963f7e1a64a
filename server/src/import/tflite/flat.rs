//! The few FlatBuffers reads a TFLite file needs: tables through their
//! vtables, scalars with their defaults, vectors, strings. Every offset is
//! checked against the file, so a damaged or hostile file is an error.

use super::TfliteError;

fn damaged(what: &str) -> TfliteError {
    TfliteError::Damaged(what.to_string())
}

#[derive(Clone, Copy)]
pub(super) struct Flat<'a> {
    bytes: &'a [u8],
}

/// A table: where it is and where its vtable is.
#[derive(Clone, Copy)]
pub(super) struct Table<'a> {
    flat: Flat<'a>,
    pos: usize,
    vtable: usize,
    vtable_len: usize,
}

impl<'a> Flat<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }

    fn slice(&self, pos: usize, len: usize) -> Result<&'a [u8], TfliteError> {
        pos.checked_add(len)
            .and_then(|end| self.bytes.get(pos..end))
            .ok_or_else(|| damaged("an offset past the end of the file"))
    }

    fn u16_at(&self, pos: usize) -> Result<u16, TfliteError> {
        let b = self.slice(pos, 2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32_at(&self, pos: usize) -> Result<u32, TfliteError> {
        let b = self.slice(pos, 4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// The position an offset stored at `pos` points to.
    fn follow(&self, pos: usize) -> Result<usize, TfliteError> {
        pos.checked_add(self.u32_at(pos)? as usize)
            .ok_or_else(|| damaged("an offset past the end of the file"))
    }

    pub fn root(&self) -> Result<Table<'a>, TfliteError> {
        self.table_at(self.follow(0)?)
    }

    fn table_at(&self, pos: usize) -> Result<Table<'a>, TfliteError> {
        let back = self.u32_at(pos)? as i32 as i64;
        let vtable = usize::try_from(pos as i64 - back)
            .map_err(|_| damaged("a table whose vtable is before the file"))?;
        let vtable_len = self.u16_at(vtable)? as usize;
        self.slice(vtable, vtable_len)?;
        Ok(Table {
            flat: *self,
            pos,
            vtable,
            vtable_len,
        })
    }
}

impl<'a> Table<'a> {
    /// Where field `id` is, when the table has it.
    fn field(&self, id: usize) -> Result<Option<usize>, TfliteError> {
        let entry = 4 + 2 * id;
        if entry + 2 > self.vtable_len {
            return Ok(None);
        }
        match self.flat.u16_at(self.vtable + entry)? {
            0 => Ok(None),
            offset => Ok(Some(self.pos + offset as usize)),
        }
    }

    fn scalar<const N: usize>(&self, id: usize) -> Result<[u8; N], TfliteError> {
        match self.field(id)? {
            Some(pos) => Ok(self.flat.slice(pos, N)?.try_into().unwrap_or([0; N])),
            None => Ok([0; N]),
        }
    }

    pub fn u8(&self, id: usize) -> Result<u8, TfliteError> {
        Ok(self.scalar::<1>(id)?[0])
    }

    pub fn i8(&self, id: usize) -> Result<i8, TfliteError> {
        Ok(self.scalar::<1>(id)?[0] as i8)
    }

    pub fn u32(&self, id: usize) -> Result<u32, TfliteError> {
        Ok(u32::from_le_bytes(self.scalar::<4>(id)?))
    }

    pub fn i32(&self, id: usize) -> Result<i32, TfliteError> {
        Ok(i32::from_le_bytes(self.scalar::<4>(id)?))
    }

    /// An int field whose schema default is not 0 (a dilation factor).
    pub fn i32_or(&self, id: usize, default: i32) -> Result<i32, TfliteError> {
        match self.field(id)? {
            Some(_) => self.i32(id),
            None => Ok(default),
        }
    }

    pub fn table(&self, id: usize) -> Result<Option<Table<'a>>, TfliteError> {
        match self.field(id)? {
            Some(pos) => Ok(Some(self.flat.table_at(self.flat.follow(pos)?)?)),
            None => Ok(None),
        }
    }

    /// A vector's elements of `size` bytes: where they start and how many.
    fn vector(&self, id: usize, size: usize) -> Result<(usize, usize), TfliteError> {
        let Some(pos) = self.field(id)? else {
            return Ok((0, 0));
        };
        let at = self.flat.follow(pos)?;
        let len = self.flat.u32_at(at)? as usize;
        let start = at + 4;
        let bytes = len
            .checked_mul(size)
            .ok_or_else(|| damaged("a vector longer than the file"))?;
        self.flat.slice(start, bytes)?;
        Ok((start, len))
    }

    pub fn tables(&self, id: usize) -> Result<Vec<Table<'a>>, TfliteError> {
        let (start, len) = self.vector(id, 4)?;
        (0..len)
            .map(|i| self.flat.table_at(self.flat.follow(start + 4 * i)?))
            .collect()
    }

    pub fn bytes(&self, id: usize) -> Result<&'a [u8], TfliteError> {
        let (start, len) = self.vector(id, 1)?;
        self.flat.slice(start, len)
    }

    fn elements<const N: usize, T>(
        &self,
        id: usize,
        from: fn([u8; N]) -> T,
    ) -> Result<Vec<T>, TfliteError> {
        let (start, len) = self.vector(id, N)?;
        let bytes = self.flat.slice(start, len * N)?;
        Ok(bytes
            .chunks_exact(N)
            .map(|c| from(c.try_into().unwrap_or([0; N])))
            .collect())
    }

    pub fn i32s(&self, id: usize) -> Result<Vec<i32>, TfliteError> {
        self.elements(id, i32::from_le_bytes)
    }

    pub fn f32s(&self, id: usize) -> Result<Vec<f32>, TfliteError> {
        self.elements(id, f32::from_le_bytes)
    }

    pub fn i64s(&self, id: usize) -> Result<Vec<i64>, TfliteError> {
        self.elements(id, i64::from_le_bytes)
    }

    pub fn string(&self, id: usize) -> Result<Option<String>, TfliteError> {
        if self.field(id)?.is_none() {
            return Ok(None);
        }
        Ok(Some(String::from_utf8_lossy(self.bytes(id)?).into_owned()))
    }

    /// Where field `id`'s value is in the file (tests patch files there).
    #[cfg(test)]
    pub fn position(&self, id: usize) -> Option<usize> {
        self.field(id).ok().flatten()
    }
}
