/* libffi for Swift. The ffi_type_* descriptors are mutable C globals, which
 * Swift 6 will not read from arbitrary contexts; these accessors hand out
 * their addresses instead. */
#ifndef PLUGWORKER_CFFI_SHIM_H
#define PLUGWORKER_CFFI_SHIM_H
#include <ffi.h>

static inline ffi_type *cffi_type_void(void) { return &ffi_type_void; }
static inline ffi_type *cffi_type_uint8(void) { return &ffi_type_uint8; }
static inline ffi_type *cffi_type_sint8(void) { return &ffi_type_sint8; }
static inline ffi_type *cffi_type_uint16(void) { return &ffi_type_uint16; }
static inline ffi_type *cffi_type_sint16(void) { return &ffi_type_sint16; }
static inline ffi_type *cffi_type_uint32(void) { return &ffi_type_uint32; }
static inline ffi_type *cffi_type_sint32(void) { return &ffi_type_sint32; }
static inline ffi_type *cffi_type_uint64(void) { return &ffi_type_uint64; }
static inline ffi_type *cffi_type_sint64(void) { return &ffi_type_sint64; }
static inline ffi_type *cffi_type_float(void) { return &ffi_type_float; }
static inline ffi_type *cffi_type_double(void) { return &ffi_type_double; }
static inline ffi_type *cffi_type_pointer(void) { return &ffi_type_pointer; }

/* ffi_prep_cif for the default ABI, so Swift need not name FFI_DEFAULT_ABI. */
static inline ffi_status cffi_prep_cif(ffi_cif *cif, unsigned int nargs,
                                       ffi_type *rtype, ffi_type **atypes) {
    return ffi_prep_cif(cif, FFI_DEFAULT_ABI, nargs, rtype, atypes);
}

/* A struct type descriptor's `type` tag, which Swift cannot spell. */
static inline unsigned short cffi_struct_tag(void) { return FFI_TYPE_STRUCT; }
#endif
