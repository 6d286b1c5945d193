// dna_ops.h: the non-conv nodes of a DNA network, run by the chunk engines as passes over
// their feature-map memory (NCHW tensors at offsets given by each node's configuration
// struct P, generated in dna_params.h). Integer semantics: docs/quantisation.md.
// Part of DNA (dna-hwgen); copied into every generated HLS project unchanged.
#ifndef DNA_OPS_H
#define DNA_OPS_H

#include "dna_engine.h"

// Act (ReLU / ReLU6): out = clamp(in, LO, HI).
template <class P>
void act_clamp(act_t* fmap) {
ACT:
  for (long i = 0; i < P::SIZE; ++i) {
    DNA_PRAGMA(HLS PIPELINE II=1)
    const long long v = static_cast<long long>(fmap[P::IN_OFF + i]);
    fmap[P::OUT_OFF + i] = act_t(v < P::LO ? P::LO : (v > P::HI ? P::HI : v));
  }
}

// Residual add: out = clamp(round_shift(a * MA + b * MB, SHIFT), LO, HI).
template <class P>
void add_requant(act_t* fmap) {
ADD:
  for (long i = 0; i < P::SIZE; ++i) {
    DNA_PRAGMA(HLS PIPELINE II=1)
    const long long sum = static_cast<long long>(fmap[P::A_OFF + i]) * P::MA +
                          static_cast<long long>(fmap[P::B_OFF + i]) * P::MB;
    fmap[P::OUT_OFF + i] = requantize(sum, 1, P::SHIFT, P::LO, P::HI);
  }
}

// Channel shuffle with G groups: out[:, c] = in[:, (c % G) * (C / G) + c / G].
template <class P>
void channel_shuffle(act_t* fmap) {
SHUF_N:
  for (int n = 0; n < P::N; ++n) {
  SHUF_C:
    for (int c = 0; c < P::C; ++c) {
    SHUF_HW:
      for (int i = 0; i < P::HW; ++i) {
        DNA_PRAGMA(HLS PIPELINE II=1)
        const int src_c = (c % P::G) * (P::C / P::G) + c / P::G;
        fmap[P::OUT_OFF + (long(n) * P::C + c) * P::HW + i] =
            fmap[P::IN_OFF + (long(n) * P::C + src_c) * P::HW + i];
      }
    }
  }
}

// Max pool (padded positions never win) or average pool (padded positions count as 0 and
// are part of the window): out = clamp(round_shift(sum * MULT, SHIFT), QMIN, QMAX).
template <class P>
void pool(act_t* fmap) {
POOL_N:
  for (int n = 0; n < P::N; ++n) {
  POOL_C:
    for (int c = 0; c < P::C; ++c) {
    POOL_Y:
      for (int y = 0; y < P::OH; ++y) {
      POOL_X:
        for (int x = 0; x < P::OW; ++x) {
          long long best = P::QMIN, sum = 0;
        POOL_R:
          for (int r = 0; r < P::WINDOW; ++r) {
          POOL_S:
            for (int s = 0; s < P::WINDOW; ++s) {
              DNA_PRAGMA(HLS PIPELINE II=1)
              const int h = y * P::STRIDE - P::PAD + r, w = x * P::STRIDE - P::PAD + s;
              if (h >= 0 && h < P::H && w >= 0 && w < P::W) {
                const long long v = static_cast<long long>(
                    fmap[P::IN_OFF + ((long(n) * P::C + c) * P::H + h) * P::W + w]);
                best = v > best ? v : best;
                sum += v;
              }
            }
          }
          fmap[P::OUT_OFF + ((long(n) * P::C + c) * P::OH + y) * P::OW + x] =
              P::MAX ? act_t(best) : requantize(sum, P::MULT, P::SHIFT, P::QMIN, P::QMAX);
        }
      }
    }
  }
}

// Global average pool: out = clamp(round_shift(sum over H*W * MULT, SHIFT), QMIN, QMAX).
template <class P>
void global_avg_pool(act_t* fmap) {
GAP_N:
  for (int n = 0; n < P::N; ++n) {
  GAP_C:
    for (int c = 0; c < P::C; ++c) {
      long long sum = 0;
    GAP_HW:
      for (int i = 0; i < P::HW; ++i) {
        DNA_PRAGMA(HLS PIPELINE II=1)
        sum += static_cast<long long>(fmap[P::IN_OFF + (long(n) * P::C + c) * P::HW + i]);
      }
      fmap[P::OUT_OFF + long(n) * P::C + c] =
          requantize(sum, P::MULT, P::SHIFT, P::QMIN, P::QMAX);
    }
  }
}

// Stream a tensor of SIZE values into the feature-map memory at OFF.
template <long OFF, long SIZE>
void stream_to_fmap(hls::stream<act_t>& s, act_t* fmap) {
STREAM_IN:
  for (long i = 0; i < SIZE; ++i) {
    DNA_PRAGMA(HLS PIPELINE II=1)
    fmap[OFF + i] = s.read();
  }
}

#endif  // DNA_OPS_H
