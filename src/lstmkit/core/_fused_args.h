/* _fused_args.h — checking the arrays that arrive from Python through the buffer protocol:
 * dtype, number of dimensions, shape, contiguity, writability. Each failure raises a
 * ValueError naming the argument and what was expected. (Needs Python.h first.) */
#ifndef LK_FUSED_ARGS_H
#define LK_FUSED_ARGS_H

typedef struct { Py_buffer v; int ok; } lk_buf;     /* ok: v holds a buffer to release */

void lk_release(lk_buf *b, int n);

/* 'f' (float32) or 'd' (float64) for o; 0 with a ValueError for anything else. */
char lk_fmt_of(PyObject *o, const char *name);

/* A C-contiguous buffer of dtype fmt with nd dimensions; shape entries < 0 are free.
 * None gives b->ok = 0 and success (the caller decides whether None is allowed). */
int lk_get(PyObject *o, lk_buf *b, const char *name, char fmt, int nd, const Py_ssize_t *shape,
           int writable);

/* x (T, B, D): C-contiguous, or any (even negative) strides on the first two axes as long
 * as each row x[t, b, :] is contiguous; *st, *sb get those strides in elements and
 * *contig whether it is C-contiguous. */
int lk_get_rows3(PyObject *o, lk_buf *b, char fmt, const Py_ssize_t *shape, Py_ssize_t *st,
                 Py_ssize_t *sb, int *contig);

/* A 2-D array whose rows may be strided (a column slice of a C array): last axis
 * contiguous, rows *ld elements apart. None is an error here. */
int lk_get2d(PyObject *o, lk_buf *b, const char *name, char fmt, const Py_ssize_t *shape,
             int writable, Py_ssize_t *ld);

/* Raise ValueError "<fn>: <what> is required" and return -1 unless b->ok. */
int lk_require(const lk_buf *b, const char *fn, const char *what);

#define LK_PTR(b) ((b).ok ? (b).v.buf : NULL)

#endif /* LK_FUSED_ARGS_H */
