// dna_dma_walk: the runs of one GB tile visit. A walker odometer over (up to NDW) loops
// adds its offsets to the visit's base values; the last four values are coordinates
// c0..c3. A run is `rl` elements along c3. c0..c2 must lie in [0, lim); c3 is clipped to
// [0, lim3): zl leading elements are outside (zero-filled on reads, skipped on writes),
// nv are data. A run outside in c0..c2 has nv = 0, zl = rl.
`default_nettype none
module dna_dma_walk #(
    parameter integer NDW = 5,
    parameter integer NO = 6,
    parameter integer BW = 16,
    parameter integer VW = 32
) (
    input  wire               clk,
    input  wire               rst_n,
    input  wire               start,     // begin a visit (base, config stable meanwhile)
    input  wire [NO*VW-1:0]   base,
    input  wire [NDW*BW-1:0]  wmax,
    input  wire [NDW*NO*VW-1:0] winc,
    input  wire [BW-1:0]      rl,
    input  wire [4*VW-1:0]    lim,
    output wire               run_valid,
    input  wire               run_ready,
    output wire [NO*VW-1:0]   run_val,   // base + walker offsets
    output wire [BW-1:0]      run_zl,
    output wire [BW-1:0]      run_nv,
    output wire               run_last,  // last run of the visit
    output reg                busy
);
    wire [NO*VW-1:0] wv;
    wire w_last;
    wire [NDW*BW-1:0] unused_widx;
    wire [NDW-1:0] unused_pn2;
    wire [NO*VW-1:0] unused_nv_walk;
    dna_agu #(.NP(NDW), .NO(NO), .BW(BW), .VW(VW)) u_walk (
        .clk(clk), .rst_n(rst_n), .start(start), .step(run_valid && run_ready),
        .act({NDW{1'b1}}), .maxv(wmax), .inc(winc), .init({NO*VW{1'b0}}), .val(wv),
        .nval(unused_nv_walk),
        .idx(unused_widx), .last(w_last), .pnext(unused_pn2));
    genvar o;
    generate
        for (o = 0; o < NO; o = o + 1) begin : g_sum
            assign run_val[o*VW +: VW] = base[o*VW +: VW] + wv[o*VW +: VW];
        end
    endgenerate
    wire signed [VW-1:0] c0 = run_val[(NO-4)*VW +: VW];
    wire signed [VW-1:0] c1 = run_val[(NO-3)*VW +: VW];
    wire signed [VW-1:0] c2 = run_val[(NO-2)*VW +: VW];
    wire signed [VW-1:0] c3 = run_val[(NO-1)*VW +: VW];
    wire signed [VW-1:0] l0 = lim[0*VW +: VW];
    wire signed [VW-1:0] l1 = lim[1*VW +: VW];
    wire signed [VW-1:0] l2 = lim[2*VW +: VW];
    wire signed [VW-1:0] l3 = lim[3*VW +: VW];
    wire signed [VW-1:0] rls = {{(VW-BW){1'b0}}, rl};
    wire in_rng = c0 >= 0 && c0 < l0 && c1 >= 0 && c1 < l1 && c2 >= 0 && c2 < l2;
    wire signed [VW-1:0] lo = (c3 < 0) ? {VW{1'b0}} : c3;
    wire signed [VW-1:0] hi = (c3 + rls < l3) ? c3 + rls : l3;
    wire some = in_rng && (hi > lo);
    wire signed [VW-1:0] nv = hi - lo;
    wire signed [VW-1:0] zl = lo - c3;
    assign run_nv = some ? nv[BW-1:0] : {BW{1'b0}};
    assign run_zl = some ? zl[BW-1:0] : rl;
    assign run_valid = busy;
    assign run_last = w_last;
    // Only the low BW bits of nv and zl are needed (both are at most rl).
    wire unused_nz = &{1'b0, nv[VW-1:BW], zl[VW-1:BW]};
    always @(posedge clk) begin
        if (!rst_n) busy <= 1'b0;
        else if (start) busy <= 1'b1;
        else if (run_valid && run_ready && w_last) busy <= 1'b0;
    end
endmodule
`default_nettype wire
