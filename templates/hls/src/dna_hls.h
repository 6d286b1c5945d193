// dna_hls.h: picks the HLS types. Under Vivado/Vitis HLS (synthesis defines __SYNTHESIS__;
// run_hls.tcl defines DNA_VENDOR_HLS for C-simulation and co-simulation) the vendor headers
// are used; with plain g++ the compatibility header dna_hls_compat.h stands in for them.
//
// Pragmas are written DNA_PRAGMA(HLS ...), the _Pragma idiom of UG902 ("using macros with
// pragmas"): HLS sees `#pragma HLS ...`, while plain g++ sees nothing, so the C-simulation
// build stays clean under -Wall -Werror (g++ 12 cannot silence -Wunknown-pragmas from
// inside a source file, GCC bug 53431).
// Part of DNA (dna-hwgen); copied into every generated HLS project unchanged.
#ifndef DNA_HLS_H
#define DNA_HLS_H

#if defined(__SYNTHESIS__) || defined(DNA_VENDOR_HLS)
#include <ap_int.h>
#include <hls_stream.h>
#define DNA_PRAGMA_STR(x) _Pragma(#x)
#define DNA_PRAGMA(x) DNA_PRAGMA_STR(x)
#else
#include "dna_hls_compat.h"
#define DNA_PRAGMA(x)
// Loop labels name the loops in HLS reports; g++ would call them unused.
#pragma GCC diagnostic ignored "-Wunused-label"
// g++ -O2 folds identical functions (-fipa-icf), e.g. the PE arrays of two one-PE chunks
// whose register files differ in size, and -Warray-bounds then checks one chunk's register
// files against the other's array type: a false positive. (Out-of-range accesses would
// show up as C-simulation mismatches; the tests also build with -fsanitize=address.)
#pragma GCC diagnostic ignored "-Warray-bounds"
#endif

#endif  // DNA_HLS_H
