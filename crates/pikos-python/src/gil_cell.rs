//! State that only the thread holding the GIL may touch.
//!
//! The interpreter hook runs with the GIL held and never re-enters itself
//! (the interpreter turns tracing off while a hook runs), so the GIL is the
//! lock: no atomics or mutexes on the hot path.  Every access goes through a
//! `Python` token as proof, and callers must not call into Python code while
//! they hold the `&mut` (take what they need out first).

use std::cell::UnsafeCell;

use pyo3::Python;

pub struct GilCell<T>(UnsafeCell<T>);

// SAFETY: all access requires a `Python` token, i.e. the GIL; pikos' module
// is declared as needing the GIL, so free-threaded builds re-enable it.
unsafe impl<T: Send> Sync for GilCell<T> {}

impl<T> GilCell<T> {
    pub const fn new(value: T) -> Self {
        GilCell(UnsafeCell::new(value))
    }

    /// # Safety
    /// The caller must not let two of these borrows overlap: no call into
    /// Python (which could reach the same cell) while the borrow lives.
    #[allow(clippy::mut_from_ref)]
    #[inline(always)]
    /// The value, through an exclusive borrow of the cell (no GIL needed).
    pub fn exclusive(&mut self) -> &mut T {
        self.0.get_mut()
    }

    pub unsafe fn get_mut<'a>(&'a self, _py: Python<'a>) -> &'a mut T {
        // SAFETY: see above.
        unsafe { &mut *self.0.get() }
    }
}
