// dna_afu: array fill unit for inputs or weights (global buffer -> PE register files).
// Walks the tensor's tiles (nest positions down to its innermost live relevant loop);
// for each tile it streams one PE's RF tile, one word per lane per cycle, into RF slot
// (tile % 2) once the compute unit has released the tile that used that slot two tiles
// ago and the DMA has filled the GB visit the tile lives in. Lane l reads
//   GB slot base + tile origin + lane offset(l) + walker offset,
// lane offset(l) = sum_j LC[l][j] * lane_inc[j] (LC: the lane's PE coordinates).
// The global buffer reads synchronously (SRAM banks): the lanes present the addresses of
// the walker's position after this clock edge, so the words of the current position are
// at the buffer's outputs in the cycle they are written to the RFs.
`default_nettype none
module dna_afu #(
    parameter integer NP = 15,
    parameter integer NFW = 6,
    parameter integer NLD = 4,
    parameter integer BW = 16,
    parameter integer VW = 32,
    parameter integer CW = 32,
    parameter integer NL = 1,          // lanes
    parameter integer CB = 10,         // bits per lane coordinate
    parameter [NL*NLD*CB-1:0] LC = 0,  // lane coordinates on the NoC dims
    parameter integer D = 64,          // GB words per slot
    parameter integer A = 7,           // GB address bits
    parameter integer RA = 4           // RF address bits
) (
    input  wire                 clk,
    input  wire                 rst_n,
    input  wire                 start,
    input  wire [NP-1:0]        act,
    input  wire [NP-1:0]        gbchg,
    input  wire [NP*BW-1:0]     nest_max,
    input  wire [NP*VW-1:0]     org_inc,
    input  wire [NFW*BW-1:0]    wmax,
    input  wire [NFW*VW-1:0]    winc,
    input  wire [NLD*VW-1:0]    lane_inc,
    input  wire [CW-1:0]        released,  // tiles the compute unit released
    input  wire [CW-1:0]        gb_filled, // GB visits the DMA filled
    output reg  [CW-1:0]        filled,    // tiles filled (= tile being filled)
    output reg  [CW-1:0]        gb_rel,    // GB visits released
    output wire [NL*A-1:0]      gb_addr,
    output wire                 rf_we,
    output wire                 rf_slot,
    output reg  [RA-1:0]        rf_addr,
    output reg                  busy
);
    reg [CW-1:0] v;  // GB visit of the current tile
    wire [VW-1:0] unused_org, unused_woff, org_n, woff_n;  // values now, after this edge
    wire o_last, w_last;
    wire [NP-1:0] pn;
    wire [NP*BW-1:0] unused_oidx;
    wire [NFW*BW-1:0] unused_widx;
    wire can = busy && (gb_filled > v) && (released + 1'b1 >= filled);
    wire tile_end = can && w_last;
    assign rf_we = can;
    assign rf_slot = filled[0];

    wire [NFW-1:0] unused_pn2;
    dna_agu #(.NP(NP), .NO(1), .BW(BW), .VW(VW)) u_outer (
        .clk(clk), .rst_n(rst_n), .start(start), .step(tile_end && !o_last), .act(act),
        .maxv(nest_max), .inc(org_inc), .init({VW{1'b0}}), .val(unused_org), .nval(org_n),
        .idx(unused_oidx),
        .last(o_last), .pnext(pn));
    dna_agu #(.NP(NFW), .NO(1), .BW(BW), .VW(VW)) u_walk (
        .clk(clk), .rst_n(rst_n), .start(start), .step(can), .act({NFW{1'b1}}),
        .maxv(wmax), .inc(winc), .init({VW{1'b0}}), .val(unused_woff), .nval(woff_n),
        .idx(unused_widx),
        .last(w_last), .pnext(unused_pn2));

    wire gb_next = can && w_last && !o_last && |(pn & gbchg);  // next tile in the next visit
    wire v_n = start ? 1'b0 : v[0] ^ gb_next;  // GB slot after this edge
    wire [VW-1:0] base = (v_n ? D : 0) + org_n + woff_n;
    genvar l;
    generate
        for (l = 0; l < NL; l = l + 1) begin : g_lane
            wire [VW-1:0] off;
            dna_lane_off #(.NLD(NLD), .VW(VW), .CB(CB), .C(LC[l*NLD*CB +: NLD*CB])) u_off (
                .inc(lane_inc), .off(off));
            wire [VW-1:0] a = base + off;
            assign gb_addr[l*A +: A] = a[A-1:0];
            wire unused_a = &{1'b0, a[VW-1:A]};
        end
    endgenerate

    always @(posedge clk) begin
        if (!rst_n) begin
            busy <= 1'b0;
            filled <= {CW{1'b0}};
            gb_rel <= {CW{1'b0}};
            v <= {CW{1'b0}};
            rf_addr <= {RA{1'b0}};
        end else if (start) begin
            busy <= 1'b1;
            filled <= {CW{1'b0}};
            gb_rel <= {CW{1'b0}};
            v <= {CW{1'b0}};
            rf_addr <= {RA{1'b0}};
        end else if (can) begin
            rf_addr <= w_last ? {RA{1'b0}} : rf_addr + 1'b1;
            if (w_last) begin
                filled <= filled + 1'b1;
                if (o_last) begin
                    busy <= 1'b0;
                    gb_rel <= v + 1'b1;
                end else if (gb_next) begin
                    gb_rel <= v + 1'b1;
                    v <= v + 1'b1;
                end
            end
        end
    end
endmodule
`default_nettype wire
