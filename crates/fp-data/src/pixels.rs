//! [`Pixels`]: the f32 values of a dataset, owned or mapped read-only from a
//! cache entry, read as one `[f32]` either way.

/// The f32 values of a dataset: owned, or mapped read-only from a cache entry.
/// Either way it reads as a `[f32]`.
pub struct Pixels(PixelStorage);

enum PixelStorage {
    Owned(Vec<f32>),
    Mapped { map: memmap2::Mmap, offset: usize },
}

impl Pixels {
    /// Views `map[offset..]` as f32 values; `None` if misaligned or not a whole number of values.
    pub(crate) fn mapped(map: memmap2::Mmap, offset: usize) -> Option<Self> {
        bytemuck::try_cast_slice::<u8, f32>(map.get(offset..)?).ok()?;
        Some(Self(PixelStorage::Mapped { map, offset }))
    }

    /// Whether the values are mapped from the on-disk cache.
    pub fn is_mapped(&self) -> bool {
        matches!(self.0, PixelStorage::Mapped { .. })
    }
}

impl From<Vec<f32>> for Pixels {
    fn from(v: Vec<f32>) -> Self {
        Self(PixelStorage::Owned(v))
    }
}

impl std::ops::Deref for Pixels {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        match &self.0 {
            PixelStorage::Owned(v) => v,
            PixelStorage::Mapped { map, offset } => bytemuck::cast_slice(&map[*offset..]),
        }
    }
}

impl Clone for Pixels {
    fn clone(&self) -> Self {
        Self::from(self.to_vec())
    }
}

impl std::fmt::Debug for Pixels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Pixels({} values{})", self.len(), if self.is_mapped() { ", mapped" } else { "" })
    }
}
