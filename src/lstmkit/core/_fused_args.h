/* Included by _fused.c: checking the arrays that arrive through the buffer protocol. */

/* ---------------------------------------------------- argument checking */
typedef struct { Py_buffer v; int ok; } buf;

static void release(buf *b, int n) { for (int k = 0; k < n; k++) if (b[k].ok) PyBuffer_Release(&b[k].v); }

/* Get a buffer of `fmt` ('f'/'d') with `nd` dims, C-contiguous unless `strided` (then only
 * the strides are asked for: get_rows3 and get2d check them); shape entries < 0 are free. */
static int get_buf(PyObject *o, buf *b, const char *name, char fmt, int nd, const idx *shape,
                   int writable, int strided)
{
    b->ok = 0;
    if (o == Py_None) return 0;
    int flags = (strided ? PyBUF_STRIDES : PyBUF_C_CONTIGUOUS) | PyBUF_FORMAT |
                (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(o, &b->v, flags) < 0) {
        PyErr_Clear();
        PyErr_Format(PyExc_ValueError, "%s: expected a%s%s array", name,
                     strided ? "" : " C-contiguous", writable ? " writable" : (strided ? "n" : ""));
        return -1;
    }
    b->ok = 1;
    const char *f = b->v.format ? b->v.format : "B";
    if (f[0] == '<' || f[0] == '=' || f[0] == '@') f++;
    if (f[0] != fmt || f[1] != 0) {
        PyErr_Format(PyExc_ValueError, "%s: expected dtype %s, got format '%s'", name,
                     fmt == 'f' ? "float32" : "float64", b->v.format);
        return -1;
    }
    if (b->v.ndim != nd) {
        PyErr_Format(PyExc_ValueError, "%s: expected %d dimensions, got %d", name, nd, b->v.ndim);
        return -1;
    }
    for (int k = 0; k < nd; k++)
        if (shape[k] >= 0 && b->v.shape[k] != shape[k]) {
            PyErr_Format(PyExc_ValueError, "%s: expected size %zd on axis %d, got %zd",
                         name, shape[k], k, b->v.shape[k]);
            return -1;
        }
    return 0;
}

/* Get a C-contiguous buffer (see get_buf); None gives b->ok = 0. */
static int get(PyObject *o, buf *b, const char *name, char fmt, int nd, const idx *shape, int writable)
{
    return get_buf(o, b, name, fmt, nd, shape, writable, 0);
}

static char fmt_of(PyObject *o, const char *name)
{
    Py_buffer v;
    if (PyObject_GetBuffer(o, &v, PyBUF_FORMAT | PyBUF_STRIDES) < 0) return 0;
    const char *f = v.format ? v.format : "B";
    if (f[0] == '<' || f[0] == '=' || f[0] == '@') f++;
    char c = (f[1] == 0 && (f[0] == 'f' || f[0] == 'd')) ? f[0] : 0;
    PyBuffer_Release(&v);
    if (!c) PyErr_Format(PyExc_ValueError, "%s: expected float32 or float64", name);
    return c;
}

/* x (T, B, D) of `fmt`, C-contiguous or with any (even negative) strides on its first two
 * axes as long as each row x[t, b, :] is contiguous (a transposed or reversed view);
 * *st, *sb get the strides of t and b in elements, *contig whether it is C-contiguous. */
static int get_rows3(PyObject *o, buf *b, char fmt, const idx *shape, idx *st, idx *sb,
                     int *contig)
{
    int r = get_buf(o, b, "x", fmt, 3, shape, 0, 1);
    if (r < 0 || !b->ok) return r;                             /* an error, or None */
    idx es = fmt == 'd' ? 8 : 4;
    if ((b->v.shape[2] > 1 && b->v.strides[2] != es) || b->v.strides[0] % es || b->v.strides[1] % es) {
        PyErr_SetString(PyExc_ValueError, "x: each row x[t, b, :] must be contiguous");
        return -1;
    }
    *st = b->v.strides[0] / es;
    *sb = b->v.strides[1] / es;
    *contig = PyBuffer_IsContiguous(&b->v, 'C');
    return 0;
}

/* A 2-D array of `fmt` whose rows may be strided (a column slice of a C array): the
 * last axis contiguous, rows `*ld` elements apart; shape entries < 0 are free. */
static int get2d(PyObject *o, buf *b, const char *name, char fmt, const idx *shape, int writable,
                 idx *ld)
{
    if (o == Py_None) {
        b->ok = 0;
        PyErr_Format(PyExc_ValueError, "%s must not be None", name);
        return -1;
    }
    if (get_buf(o, b, name, fmt, 2, shape, writable, 1) < 0) return -1;
    idx es = fmt == 'd' ? 8 : 4, s0 = b->v.strides[0], s1 = b->v.strides[1];
    if ((b->v.shape[1] > 1 && s1 != es) || s0 % es || s0 < b->v.shape[1] * es) {
        PyErr_Format(PyExc_ValueError, "%s: rows must be contiguous and not overlap", name);
        return -1;
    }
    *ld = b->v.shape[0] > 1 ? s0 / es : b->v.shape[1];
    if (*ld < 1) *ld = 1;
    return 0;
}
