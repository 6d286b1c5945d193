// dna_aou: output unit between the accumulators (RFs) and the output global buffer.
// Two engines walk the output tiles (nest positions down to the outputs' innermost live
// relevant loop):
//   reload: a revisited tile (some irrelevant loop outside it is past 0) is copied from
//     the GB into acc slot (tile % 2) once that slot is drained; a first visit needs
//     nothing (drained slots are zero) and only counts as prepared;
//   drain: a tile the compute unit released is read out (and cleared) into the GB; after
//     the last tile of a GB visit that visit is released to the output DMA.
// They share one GB port per lane (the cost model's read + write per bank); reload wins.
// The GB reads synchronously (SRAM banks): reload lanes present the addresses of the
// reload engine's position after this clock edge, so a word is at the buffer's output in
// the cycle it is written to its accumulator; drain lanes write at the current position.
`default_nettype none
module dna_aou #(
    parameter integer NP = 15,
    parameter integer NFW = 6,
    parameter integer NLD = 4,
    parameter integer BW = 16,
    parameter integer VW = 32,
    parameter integer CW = 32,
    parameter integer NL = 1,
    parameter integer CB = 10,
    parameter [NL*NLD*CB-1:0] LC = 0,
    parameter integer D = 64,
    parameter integer A = 7,
    parameter integer RA = 4
) (
    input  wire              clk,
    input  wire              rst_n,
    input  wire              start,
    input  wire [NP-1:0]     act,
    input  wire [NP-1:0]     gbchg,
    input  wire [NP-1:0]     first_m,
    input  wire [NP*BW-1:0]  nest_max,
    input  wire [NP*VW-1:0]  org_inc,
    input  wire [NFW*BW-1:0] wmax,
    input  wire [NFW*VW-1:0] winc,
    input  wire [NLD*VW-1:0] lane_inc,
    input  wire [CW-1:0]     released,  // output tiles released by the compute unit
    input  wire [CW-1:0]     gb_prep,   // GB visits the output DMA prepared
    output reg  [CW-1:0]     prepared,  // output tiles prepared (reloaded or first visit)
    output reg  [CW-1:0]     drained,
    output reg  [CW-1:0]     gb_rel,    // GB visits released for write-back
    output wire              gb_we,
    output wire [NL*A-1:0]   gb_waddr,  // drain writes (gb_we)
    output wire [NL*A-1:0]   gb_raddr,  // reload reads, one cycle ahead
    output wire              acc_we,    // reload write
    output wire              acc_rd,    // drain read-and-clear
    output wire              acc_wslot,
    output wire              acc_rslot,
    output reg  [RA-1:0]     acc_waddr,
    output reg  [RA-1:0]     acc_raddr,
    output wire              busy
);
    reg r_busy, d_busy;
    reg [CW-1:0] rv, dv;  // GB visit of the reload / drain engine's tile
    wire [VW-1:0] unused_r_org, d_org, unused_r_woff, d_woff;
    wire [VW-1:0] r_org_n, r_woff_n;  // reload engine's values after this edge
    wire r_olast, d_olast, r_wlast, d_wlast;
    wire [NP-1:0] r_pn, d_pn;
    wire [NP*BW-1:0] r_idx, unused_didx;
    wire [NFW*BW-1:0] unused_rwidx, unused_dwidx;
    wire [NFW-1:0] unused_rpn2, unused_dpn2;
    reg r_first;
    integer i;
    always @* begin
        r_first = 1'b1;
        for (i = 0; i < NP; i = i + 1)
            if (first_m[i] && r_idx[i*BW +: BW] != {BW{1'b0}}) r_first = 1'b0;
    end
    wire r_skip = r_busy && r_first;
    wire r_go = r_busy && !r_first && (gb_prep > rv) && (drained + 1'b1 >= prepared);
    wire r_end = r_skip || (r_go && r_wlast);
    wire d_go = d_busy && !r_go && (released > drained) && (gb_prep > dv);
    wire d_end = d_go && d_wlast;
    assign busy = r_busy || d_busy;
    assign gb_we = d_go;
    assign acc_we = r_go;
    assign acc_rd = d_go;
    assign acc_wslot = prepared[0];
    assign acc_rslot = drained[0];

    dna_agu #(.NP(NP), .NO(1), .BW(BW), .VW(VW)) u_router (
        .clk(clk), .rst_n(rst_n), .start(start), .step(r_end && !r_olast), .act(act),
        .maxv(nest_max), .inc(org_inc), .init({VW{1'b0}}), .val(unused_r_org), .nval(r_org_n),
        .idx(r_idx),
        .last(r_olast), .pnext(r_pn));
    dna_agu #(.NP(NFW), .NO(1), .BW(BW), .VW(VW)) u_rwalk (
        .clk(clk), .rst_n(rst_n), .start(start), .step(r_go), .act({NFW{1'b1}}),
        .maxv(wmax), .inc(winc), .init({VW{1'b0}}), .val(unused_r_woff), .nval(r_woff_n),
        .idx(unused_rwidx),
        .last(r_wlast), .pnext(unused_rpn2));
    wire [VW-1:0] unused_nv_douter;
    dna_agu #(.NP(NP), .NO(1), .BW(BW), .VW(VW)) u_douter (
        .clk(clk), .rst_n(rst_n), .start(start), .step(d_end && !d_olast), .act(act),
        .maxv(nest_max), .inc(org_inc), .init({VW{1'b0}}), .val(d_org), .nval(unused_nv_douter),
        .idx(unused_didx),
        .last(d_olast), .pnext(d_pn));
    wire [VW-1:0] unused_nv_dwalk;
    dna_agu #(.NP(NFW), .NO(1), .BW(BW), .VW(VW)) u_dwalk (
        .clk(clk), .rst_n(rst_n), .start(start), .step(d_go), .act({NFW{1'b1}}),
        .maxv(wmax), .inc(winc), .init({VW{1'b0}}), .val(d_woff), .nval(unused_nv_dwalk),
        .idx(unused_dwidx),
        .last(d_wlast), .pnext(unused_dpn2));

    wire r_vnext = r_end && !r_olast && |(r_pn & gbchg);  // next tile in the next visit
    wire rv_n = start ? 1'b0 : rv[0] ^ r_vnext;
    wire [VW-1:0] r_base = (rv_n ? D : 0) + r_org_n + r_woff_n;
    wire [VW-1:0] d_base = (dv[0] ? D : 0) + d_org + d_woff;
    genvar l;
    generate
        for (l = 0; l < NL; l = l + 1) begin : g_lane
            wire [VW-1:0] off;
            dna_lane_off #(.NLD(NLD), .VW(VW), .CB(CB), .C(LC[l*NLD*CB +: NLD*CB])) u_off (
                .inc(lane_inc), .off(off));
            wire [VW-1:0] ra = r_base + off;
            wire [VW-1:0] wa = d_base + off;
            assign gb_raddr[l*A +: A] = ra[A-1:0];
            assign gb_waddr[l*A +: A] = wa[A-1:0];
            wire unused_a = &{1'b0, ra[VW-1:A], wa[VW-1:A]};
        end
    endgenerate

    always @(posedge clk) begin
        if (!rst_n || start) begin
            r_busy <= !rst_n ? 1'b0 : 1'b1;
            d_busy <= !rst_n ? 1'b0 : 1'b1;
            prepared <= {CW{1'b0}};
            drained <= {CW{1'b0}};
            gb_rel <= {CW{1'b0}};
            rv <= {CW{1'b0}};
            dv <= {CW{1'b0}};
            acc_waddr <= {RA{1'b0}};
            acc_raddr <= {RA{1'b0}};
        end else begin
            if (r_go) acc_waddr <= r_wlast ? {RA{1'b0}} : acc_waddr + 1'b1;
            if (r_end) begin
                prepared <= prepared + 1'b1;
                if (r_olast) r_busy <= 1'b0;
                else if (r_vnext) rv <= rv + 1'b1;
            end
            if (d_go) acc_raddr <= d_wlast ? {RA{1'b0}} : acc_raddr + 1'b1;
            if (d_end) begin
                drained <= drained + 1'b1;
                if (d_olast) begin
                    d_busy <= 1'b0;
                    gb_rel <= dv + 1'b1;
                end else if (|(d_pn & gbchg)) begin
                    gb_rel <= dv + 1'b1;
                    dv <= dv + 1'b1;
                end
            end
        end
    end
endmodule
`default_nettype wire
