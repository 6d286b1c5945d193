// dna_engine.h: the data movers of a DNA compute engine, shared by every conv layer.
//
// A layer's loop nest (generated, in dna_top.cpp) runs four levels, outermost first:
//   DRAM loops -> GB tiles move between the chunk's DRAM image and its global buffers;
//   GB loops   -> array tiles move between the global buffers and the PEs' register files;
//   RF loops   -> every PE does one MAC per cycle on its register files;
//   PE array   -> the spatial loops, fully unrolled (the chunk's NoC dims).
// The generated nest calls the movers below where a tile changes (docs/cost_model.md: a
// tile is refetched when a relevant loop above it advances). L is the layer's
// configuration struct, CH the chunk's; both are generated (dna_params.h).
//
// Tile layouts (row-major):
//   weights  [K][C][R][S]           outputs [N][K][Y][X] (accumulator width)
//   inputs   [N][CH][ROWS][COLS], CH = K for depthwise layers (inputs follow K), else C.
// Input rows (and columns) are a compact band: window t, kernel tap r sits at row
// t * STEP + r, STEP = min(stride, taps in the tile). Overlapping windows share rows; with
// stride > taps the rows between windows are never stored. This is the cost model's
// min(Y*R, (Y-1)*stride + R) rows.
// Out-of-range elements (convolution padding, padded loop iterations) read as zero and
// are never stored.
// Part of DNA (dna-hwgen); copied into every generated HLS project unchanged.
#ifndef DNA_ENGINE_H
#define DNA_ENGINE_H

#include "dna_config.h"

// Offset of band row `row` from the band's first row (inverse of band_row).
inline int band_delta(int row, int stride, int step) {
  return (row / step) * stride + row % step;
}

// Band row holding the input that lies `delta` rows after the band's first row.
inline int band_row(int delta, int stride, int step) {
  return (delta / stride) * step + delta % stride;
}

// Coordinate of PE `pe` along one dim: PE indices are mixed-radix over the NoC dims.
inline int lane(int pe, int radix_stride, int count) { return pe / radix_stride % count; }

// clamp(round_shift(acc * mult, shift), lo, hi), round half up (docs/quantisation.md).
// |acc * mult| < 2^62, so 64-bit arithmetic is exact. Not inlined: each engine shares one
// requantiser among all its layers (HLS ALLOCATION in the engine).
inline act_t requantize(long long acc, long long mult, int shift, long long lo, long long hi) {
  DNA_PRAGMA(HLS INLINE off)
  DNA_PRAGMA(HLS PIPELINE II=1)
  long long v = acc * mult;
  if (shift > 0) v = (v + (1LL << (shift - 1))) >> shift;
  return act_t(v < lo ? lo : (v > hi ? hi : v));
}

// ---------------------------------------------------------------- DRAM <-> GB

// Inputs tile of DRAM step (dn..ds) of group g.
template <class L>
void gb_load_inputs(act_t in_gb[], const act_t* fmap, int g, int dn, int dk, int dc, int dy,
                    int dx, int dr, int ds) {
  const int n0 = dn * L::GN;
  const int ch0 = L::DW ? dk * L::GK : dc * L::GC;
  const int ch_end = L::DW ? L::K : L::C;
  const int h0 = dy * L::GY * L::STRIDE - L::PAD + dr * L::GR;
  const int w0 = dx * L::GX * L::STRIDE - L::PAD + ds * L::GS;
GB_IN_N:
  for (int n = 0; n < L::GN; ++n) {
  GB_IN_C:
    for (int c = 0; c < L::G_CH; ++c) {
    GB_IN_H:
      for (int i = 0; i < L::G_ROWS; ++i) {
      GB_IN_W:
        for (int j = 0; j < L::G_COLS; ++j) {
          DNA_PRAGMA(HLS PIPELINE II=1)
          const int nn = n0 + n, cc = ch0 + c;
          const int h = h0 + band_delta(i, L::STRIDE, L::G_ROW_STEP);
          const int w = w0 + band_delta(j, L::STRIDE, L::G_COL_STEP);
          const bool inside = nn < L::N && cc < ch_end && h >= 0 && h < L::IN_H && w >= 0 &&
                              w < L::IN_W;
          const long src = L::IN_OFF + ((long(nn) * L::IN_C + g * L::C + cc) * L::IN_H + h) *
                                           L::IN_W + w;
          in_gb[((n * L::G_CH + c) * L::G_ROWS + i) * L::G_COLS + j] =
              inside ? fmap[src] : act_t(0);
        }
      }
    }
  }
}

// Weights tile of DRAM step (dk, dc, dr, ds) of group g.
template <class L>
void gb_load_weights(wgt_t w_gb[], const wgt_t* wdram, int g, int dk, int dc, int dr, int ds) {
GB_W_K:
  for (int k = 0; k < L::GK; ++k) {
  GB_W_C:
    for (int c = 0; c < L::GC; ++c) {
    GB_W_R:
      for (int r = 0; r < L::GR; ++r) {
      GB_W_S:
        for (int s = 0; s < L::GS; ++s) {
          DNA_PRAGMA(HLS PIPELINE II=1)
          const int kk = dk * L::GK + k, cc = dc * L::GC + c;
          const int rr = dr * L::GR + r, ss = ds * L::GS + s;
          const bool inside = kk < L::K && cc < L::C && rr < L::R && ss < L::S;
          const long src = L::W_OFF + ((long(g * L::K + kk) * L::C + cc) * L::R + rr) * L::S + ss;
          w_gb[((k * L::GC + c) * L::GR + r) * L::GS + s] = inside ? wdram[src] : wgt_t(0);
        }
      }
    }
  }
}

// Outputs tile, first visit: every partial sum starts at its channel's bias.
template <class L>
void gb_init_outputs(acc_t out_gb[], const acc_t bias[], int g, int dn, int dk, int dy, int dx) {
GB_OI_N:
  for (int n = 0; n < L::GN; ++n) {
  GB_OI_K:
    for (int k = 0; k < L::GK; ++k) {
    GB_OI_Y:
      for (int y = 0; y < L::GY; ++y) {
      GB_OI_X:
        for (int x = 0; x < L::GX; ++x) {
          DNA_PRAGMA(HLS PIPELINE II=1)
          const int kk = dk * L::GK + k;
          out_gb[((n * L::GK + k) * L::GY + y) * L::GX + x] =
              kk < L::K ? acc_t(bias[g * L::K + kk]) : acc_t(0);
        }
      }
    }
  }
}

// Outputs tile, later visits: the partial sums parked in DRAM by the previous visit.
template <class L>
void gb_load_psums(acc_t out_gb[], const acc_t* psum, int g, int dn, int dk, int dy, int dx) {
GB_OP_N:
  for (int n = 0; n < L::GN; ++n) {
  GB_OP_K:
    for (int k = 0; k < L::GK; ++k) {
    GB_OP_Y:
      for (int y = 0; y < L::GY; ++y) {
      GB_OP_X:
        for (int x = 0; x < L::GX; ++x) {
          DNA_PRAGMA(HLS PIPELINE II=1)
          const int nn = dn * L::GN + n, kk = dk * L::GK + k;
          const int yy = dy * L::GY + y, xx = dx * L::GX + x;
          const bool inside = nn < L::N && kk < L::K && yy < L::Y && xx < L::X;
          const long at = ((long(nn) * L::OUT_C + g * L::K + kk) * L::Y + yy) * L::X + xx;
          out_gb[((n * L::GK + k) * L::GY + y) * L::GX + x] = inside ? psum[at] : acc_t(0);
        }
      }
    }
  }
}

// Outputs tile, not the last visit: park the partial sums in DRAM.
template <class L>
void gb_store_psums(const acc_t out_gb[], acc_t* psum, int g, int dn, int dk, int dy, int dx) {
GB_SP_N:
  for (int n = 0; n < L::GN; ++n) {
  GB_SP_K:
    for (int k = 0; k < L::GK; ++k) {
    GB_SP_Y:
      for (int y = 0; y < L::GY; ++y) {
      GB_SP_X:
        for (int x = 0; x < L::GX; ++x) {
          DNA_PRAGMA(HLS PIPELINE II=1)
          const int nn = dn * L::GN + n, kk = dk * L::GK + k;
          const int yy = dy * L::GY + y, xx = dx * L::GX + x;
          if (nn < L::N && kk < L::K && yy < L::Y && xx < L::X) {
            psum[((long(nn) * L::OUT_C + g * L::K + kk) * L::Y + yy) * L::X + xx] =
                out_gb[((n * L::GK + k) * L::GY + y) * L::GX + x];
          }
        }
      }
    }
  }
}

// Outputs tile, last visit: requantise (with the fused activation's clamp) into the
// output feature map.
template <class L>
void gb_store_outputs(const acc_t out_gb[], act_t* fmap, const mult_t mult[],
                      const shift_t shift[], int g, int dn, int dk, int dy, int dx) {
GB_SO_N:
  for (int n = 0; n < L::GN; ++n) {
  GB_SO_K:
    for (int k = 0; k < L::GK; ++k) {
    GB_SO_Y:
      for (int y = 0; y < L::GY; ++y) {
      GB_SO_X:
        for (int x = 0; x < L::GX; ++x) {
          DNA_PRAGMA(HLS PIPELINE II=1)
          const int nn = dn * L::GN + n, kk = dk * L::GK + k;
          const int yy = dy * L::GY + y, xx = dx * L::GX + x;
          const int ch = g * L::K + kk;
          if (nn < L::N && kk < L::K && yy < L::Y && xx < L::X) {
            fmap[L::OUT_OFF + ((long(nn) * L::OUT_C + ch) * L::Y + yy) * L::X + xx] =
                requantize(static_cast<long long>(out_gb[((n * L::GK + k) * L::GY + y) * L::GX + x]),
                           static_cast<long long>(mult[ch]), static_cast<int>(shift[ch]),
                           L::ACT_MIN, L::ACT_MAX);
          }
        }
      }
    }
  }
}

// ---------------------------------------------------------------- GB <-> register files
// One word per PE per cycle: the tile loops are pipelined, the PE loop inside is unrolled.

// Every PE's inputs tile for GB step (gn..gs).
template <class L, class CH>
void rf_fill_inputs(act_t in_rf[CH::PES][CH::RF_IN], const act_t in_gb[], int gn, int gk,
                    int gc, int gy, int gx, int gr, int gs) {
RF_IN_N:
  for (int n = 0; n < L::FN; ++n) {
  RF_IN_C:
    for (int c = 0; c < L::F_CH; ++c) {
    RF_IN_H:
      for (int i = 0; i < L::F_ROWS; ++i) {
      RF_IN_W:
        for (int j = 0; j < L::F_COLS; ++j) {
          DNA_PRAGMA(HLS PIPELINE II=1)
        RF_IN_PE:
          for (int pe = 0; pe < CH::PES; ++pe) {
            DNA_PRAGMA(HLS UNROLL)
            // this PE's tile origin in the GB tile; rows (columns) from the GB band's
            // first row to this PE's first row
            const int n0 = gn * L::AN + lane(pe, CH::Q_N, CH::P_N) * L::FN;
            const int ch0 = L::DW ? gk * L::AK + lane(pe, CH::Q_K, CH::P_K) * L::FK
                                  : gc * L::AC + lane(pe, CH::Q_C, CH::P_C) * L::FC;
            const int dh = (gy * L::AY + lane(pe, CH::Q_Y, CH::P_Y) * L::FY) * L::STRIDE +
                           gr * L::AR + lane(pe, CH::Q_R, CH::P_R) * L::FR;
            const int dw = (gx * L::AX + lane(pe, CH::Q_X, CH::P_X) * L::FX) * L::STRIDE +
                           gs * L::AS + lane(pe, CH::Q_S, CH::P_S) * L::FS;
            const int row = band_row(dh + band_delta(i, L::STRIDE, L::F_ROW_STEP), L::STRIDE,
                                     L::G_ROW_STEP);
            const int col = band_row(dw + band_delta(j, L::STRIDE, L::F_COL_STEP), L::STRIDE,
                                     L::G_COL_STEP);
            in_rf[pe][((n * L::F_CH + c) * L::F_ROWS + i) * L::F_COLS + j] =
                in_gb[(((n0 + n) * L::G_CH + ch0 + c) * L::G_ROWS + row) * L::G_COLS + col];
          }
        }
      }
    }
  }
}

// Every PE's weights tile for GB step (gk, gc, gr, gs).
template <class L, class CH>
void rf_fill_weights(wgt_t w_rf[CH::PES][CH::RF_W], const wgt_t w_gb[], int gk, int gc, int gr,
                     int gs) {
RF_W_K:
  for (int k = 0; k < L::FK; ++k) {
  RF_W_C:
    for (int c = 0; c < L::FC; ++c) {
    RF_W_R:
      for (int r = 0; r < L::FR; ++r) {
      RF_W_S:
        for (int s = 0; s < L::FS; ++s) {
          DNA_PRAGMA(HLS PIPELINE II=1)
        RF_W_PE:
          for (int pe = 0; pe < CH::PES; ++pe) {
            DNA_PRAGMA(HLS UNROLL)
            const int k0 = gk * L::AK + lane(pe, CH::Q_K, CH::P_K) * L::FK;
            const int c0 = gc * L::AC + lane(pe, CH::Q_C, CH::P_C) * L::FC;
            const int r0 = gr * L::AR + lane(pe, CH::Q_R, CH::P_R) * L::FR;
            const int s0 = gs * L::AS + lane(pe, CH::Q_S, CH::P_S) * L::FS;
            w_rf[pe][((k * L::FC + c) * L::FR + r) * L::FS + s] =
                w_gb[(((k0 + k) * L::GC + c0 + c) * L::GR + r0 + r) * L::GS + s0 + s];
          }
        }
      }
    }
  }
}

// Every PE's partial sums start a visit at zero.
template <class L, class CH>
void rf_clear_outputs(acc_t o_rf[CH::PES][CH::RF_OUT]) {
RF_OC:
  for (int j = 0; j < L::FN * L::FK * L::FY * L::FX; ++j) {
    DNA_PRAGMA(HLS PIPELINE II=1)
  RF_OC_PE:
    for (int pe = 0; pe < CH::PES; ++pe) {
      DNA_PRAGMA(HLS UNROLL)
      o_rf[pe][j] = 0;
    }
  }
}

// Every PE adds its partial sums into the GB outputs tile; PEs that differ only along
// C, R or S (spatial reduction) add into the same words.
template <class L, class CH>
void rf_drain_outputs(acc_t out_gb[], const acc_t o_rf[CH::PES][CH::RF_OUT], int gn, int gk,
                      int gy, int gx) {
RF_OD_N:
  for (int n = 0; n < L::FN; ++n) {
  RF_OD_K:
    for (int k = 0; k < L::FK; ++k) {
    RF_OD_Y:
      for (int y = 0; y < L::FY; ++y) {
      RF_OD_X:
        for (int x = 0; x < L::FX; ++x) {
          DNA_PRAGMA(HLS PIPELINE II=1)
        RF_OD_PE:
          for (int pe = 0; pe < CH::PES; ++pe) {
            DNA_PRAGMA(HLS UNROLL)
            const int n0 = gn * L::AN + lane(pe, CH::Q_N, CH::P_N) * L::FN;
            const int k0 = gk * L::AK + lane(pe, CH::Q_K, CH::P_K) * L::FK;
            const int y0 = gy * L::AY + lane(pe, CH::Q_Y, CH::P_Y) * L::FY;
            const int x0 = gx * L::AX + lane(pe, CH::Q_X, CH::P_X) * L::FX;
            out_gb[(((n0 + n) * L::GK + k0 + k) * L::GY + y0 + y) * L::GX + x0 + x] +=
                o_rf[pe][((n * L::FK + k) * L::FY + y) * L::FX + x];
          }
        }
      }
    }
  }
}

#endif  // DNA_ENGINE_H
