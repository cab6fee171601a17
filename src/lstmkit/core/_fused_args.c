/* _fused_args.c — argument checks for the Python entry points (see _fused_args.h). */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "_fused_args.h"

void lk_release(lk_buf *b, int n)
{
    for (int k = 0; k < n; k++)
        if (b[k].ok) {
            PyBuffer_Release(&b[k].v);
            b[k].ok = 0;
        }
}

static const char *strip(const char *f)
{
    if (!f) return "B";
    return (f[0] == '<' || f[0] == '=' || f[0] == '@') ? f + 1 : f;
}

char lk_fmt_of(PyObject *o, const char *name)
{
    Py_buffer v;
    if (o == NULL || o == Py_None || PyObject_GetBuffer(o, &v, PyBUF_FORMAT | PyBUF_STRIDES) < 0) {
        PyErr_Clear();
        PyErr_Format(PyExc_ValueError, "%s: expected a float32 or float64 array", name);
        return 0;
    }
    const char *f = strip(v.format);
    char c = (f[1] == 0 && (f[0] == 'f' || f[0] == 'd')) ? f[0] : 0;
    PyBuffer_Release(&v);
    if (!c) PyErr_Format(PyExc_ValueError, "%s: expected float32 or float64", name);
    return c;
}

/* the checks every getter shares; strided: ask only for strides (callers check them) */
static int get_buf(PyObject *o, lk_buf *b, const char *name, char fmt, int nd,
                   const Py_ssize_t *shape, int writable, int strided)
{
    b->ok = 0;
    if (o == NULL || o == Py_None) return 0;
    int flags = (strided ? PyBUF_STRIDES : PyBUF_C_CONTIGUOUS) | PyBUF_FORMAT |
                (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(o, &b->v, flags) < 0) {
        PyErr_Clear();
        PyErr_Format(PyExc_ValueError, "%s: expected a%s%s array", name,
                     strided ? "" : " C-contiguous", writable ? " writable" : (strided ? "n" : ""));
        return -1;
    }
    b->ok = 1;
    const char *f = strip(b->v.format);
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
            PyErr_Format(PyExc_ValueError, "%s: expected size %zd on axis %d, got %zd", name,
                         shape[k], k, b->v.shape[k]);
            return -1;
        }
    return 0;
}

int lk_get(PyObject *o, lk_buf *b, const char *name, char fmt, int nd, const Py_ssize_t *shape,
           int writable)
{
    return get_buf(o, b, name, fmt, nd, shape, writable, 0);
}

int lk_get_rows3(PyObject *o, lk_buf *b, char fmt, const Py_ssize_t *shape, Py_ssize_t *st,
                 Py_ssize_t *sb, int *contig)
{
    int r = get_buf(o, b, "x", fmt, 3, shape, 0, 1);
    if (r < 0 || !b->ok) return r;
    Py_ssize_t es = fmt == 'd' ? 8 : 4;
    if ((b->v.shape[2] > 1 && b->v.strides[2] != es) || b->v.strides[0] % es ||
        b->v.strides[1] % es) {
        PyErr_SetString(PyExc_ValueError, "x: each row x[t, b, :] must be contiguous");
        return -1;
    }
    *st = b->v.strides[0] / es;
    *sb = b->v.strides[1] / es;
    *contig = PyBuffer_IsContiguous(&b->v, 'C');
    return 0;
}

int lk_get2d(PyObject *o, lk_buf *b, const char *name, char fmt, const Py_ssize_t *shape,
             int writable, Py_ssize_t *ld)
{
    if (o == NULL || o == Py_None) {
        b->ok = 0;
        PyErr_Format(PyExc_ValueError, "%s must not be None", name);
        return -1;
    }
    if (get_buf(o, b, name, fmt, 2, shape, writable, 1) < 0) return -1;
    Py_ssize_t es = fmt == 'd' ? 8 : 4, s0 = b->v.strides[0], s1 = b->v.strides[1];
    if ((b->v.shape[1] > 1 && s1 != es) || s0 % es || s0 < b->v.shape[1] * es) {
        PyErr_Format(PyExc_ValueError, "%s: rows must be contiguous and not overlap", name);
        return -1;
    }
    *ld = b->v.shape[0] > 1 ? s0 / es : b->v.shape[1];
    if (*ld < 1) *ld = 1;
    return 0;
}

int lk_require(const lk_buf *b, const char *fn, const char *what)
{
    if (b->ok) return 0;
    PyErr_Format(PyExc_ValueError, "%s: %s is required", fn, what);
    return -1;
}
