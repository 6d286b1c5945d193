// dna_cu: compute unit controller. Walks the whole nest (group, dram and gb loops) and,
// for every array step, the rf loops: one MAC per PE per cycle on RF-resident tiles.
// At the end of a step each tensor whose tile changes (a relevant loop advanced:
// chg mask) releases its RF slot; the next step starts as soon as the next tiles are in:
//   inputs/weights: filled count > tile index;
//   outputs: prepared count > tile index and the slot drained (first visits need a
//   zeroed slot, revisits a reloaded one; prepared counts both).
// Tile indices double as release counts for the producers (two slots each).
`default_nettype none
module dna_cu #(
    parameter integer NP = 15,
    parameter integer NRF = 7,
    parameter integer BW = 16,
    parameter integer VW = 32,
    parameter integer CW = 32   // tile counter width
) (
    input  wire                clk,
    input  wire                rst_n,
    input  wire                start,
    input  wire [NP*BW-1:0]    nest_max,
    input  wire [NP-1:0]       chg_i,
    input  wire [NP-1:0]       chg_w,
    input  wire [NP-1:0]       chg_o,
    input  wire [NRF*BW-1:0]   rf_max,
    input  wire [NRF*3*VW-1:0] rf_inc,   // per rf position: (input, weight, output) address
    input  wire [CW-1:0]       fill_i,   // input tiles filled
    input  wire [CW-1:0]       fill_w,
    input  wire [CW-1:0]       prep_o,   // output tiles prepared
    input  wire [CW-1:0]       drain_o,  // output tiles drained
    output reg  [CW-1:0]       ti,       // current tile = tiles released
    output reg  [CW-1:0]       tw,
    output reg  [CW-1:0]       to,
    output wire                mac_en,
    output wire [VW-1:0]       ai,       // RF addresses this cycle
    output wire [VW-1:0]       aw,
    output wire [VW-1:0]       ao,
    output reg                 busy
);
    wire nest_last, rf_last;
    wire [NP-1:0] pn;
    wire [NP*BW-1:0] nidx;
    wire [3*VW-1:0] rfv;
    wire [NRF*BW-1:0] rfidx;
    wire [VW-1:0] unused_v;
    wire ok_o = (prep_o > to) && (drain_o + 1'b1 >= to);
    wire ok = busy && (fill_i > ti) && (fill_w > tw) && ok_o;
    wire step_end = ok && rf_last;
    assign mac_en = ok;
    assign {ao, aw, ai} = rfv;

    wire [NRF-1:0] unused_pn2;
    wire [VW-1:0] unused_nv_nest;
    dna_agu #(.NP(NP), .NO(1), .BW(BW), .VW(VW)) u_nest (
        .clk(clk), .rst_n(rst_n), .start(start), .step(step_end && !nest_last),
        .act({NP{1'b1}}), .maxv(nest_max), .inc({NP*VW{1'b0}}), .init({VW{1'b0}}),
        .val(unused_v), .nval(unused_nv_nest), .idx(nidx), .last(nest_last), .pnext(pn));
    wire [3*VW-1:0] unused_nv_rf;
    dna_agu #(.NP(NRF), .NO(3), .BW(BW), .VW(VW)) u_rf (
        .clk(clk), .rst_n(rst_n), .start(start), .step(ok), .act({NRF{1'b1}}),
        .maxv(rf_max), .inc(rf_inc), .init({3*VW{1'b0}}), .val(rfv), .nval(unused_nv_rf),
        .idx(rfidx),
        .last(rf_last), .pnext(unused_pn2));

    always @(posedge clk) begin
        if (!rst_n) begin
            busy <= 1'b0;
            ti <= {CW{1'b0}};
            tw <= {CW{1'b0}};
            to <= {CW{1'b0}};
        end else if (start) begin
            busy <= 1'b1;
            ti <= {CW{1'b0}};
            tw <= {CW{1'b0}};
            to <= {CW{1'b0}};
        end else if (step_end) begin
            if (nest_last) begin
                busy <= 1'b0;
                ti <= ti + 1'b1;
                tw <= tw + 1'b1;
                to <= to + 1'b1;
            end else begin
                if (|(pn & chg_i)) ti <= ti + 1'b1;
                if (|(pn & chg_w)) tw <= tw + 1'b1;
                if (|(pn & chg_o)) to <= to + 1'b1;
            end
        end
    end
    // The nest's values and indices, and the rf indices, are not needed here.
    wire unused_ok = &{1'b0, unused_v, nidx, rfidx};
endmodule
`default_nettype wire
