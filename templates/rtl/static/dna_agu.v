// dna_agu: affine odometer (address generation unit) of the DNA engine.
// Positions 0..NP-1, outer to inner. A position outside `act` behaves as bound 1. Each
// step advances the innermost position below its maximum, resets the inner ones and adds
// that position's effective increment to every value (hwgen/asic_nest.py eff_incs), so
// val = init + sum(idx[i] * stride[i]) at all times. A step at the last iteration wraps
// back to the start.
`default_nettype none
module dna_agu #(
    parameter integer NP = 15,  // loop positions
    parameter integer NO = 1,   // affine values
    parameter integer BW = 16,  // index / bound width
    parameter integer VW = 32   // value width
) (
    input  wire               clk,
    input  wire               rst_n,
    input  wire               start,  // restart: indices 0, values = init
    input  wire               step,   // advance one iteration
    input  wire [NP-1:0]      act,    // active positions
    input  wire [NP*BW-1:0]   maxv,   // bound - 1 per position
    input  wire [NP*NO*VW-1:0] inc,   // effective increment per position and value
    input  wire [NO*VW-1:0]   init,
    output reg  [NO*VW-1:0]   val,
    output reg  [NO*VW-1:0]   nval,   // val after this clock edge
    output reg  [NP*BW-1:0]   idx,
    output wire               last,   // every active position at its maximum
    output reg  [NP-1:0]      pnext   // one-hot: the position the next step advances
);
    reg [NP-1:0] atmax;
    reg [NO*VW-1:0] sel;
    reg [NP*BW-1:0] nidx;  // indices after a step
    reg seen;
    integer i, o, j;

    always @* begin
        for (i = 0; i < NP; i = i + 1)
            atmax[i] = !act[i] || (idx[i*BW +: BW] == maxv[i*BW +: BW]);
        pnext = {NP{1'b0}};
        for (i = 0; i < NP; i = i + 1)
            if (!atmax[i]) begin
                pnext = {NP{1'b0}};
                pnext[i] = 1'b1;
            end
        sel = {NO*VW{1'b0}};
        for (i = 0; i < NP; i = i + 1)
            if (pnext[i]) sel = inc[i*NO*VW +: NO*VW];
        seen = 1'b0;
        nidx = idx;
        for (i = 0; i < NP; i = i + 1) begin
            if (seen) nidx[i*BW +: BW] = {BW{1'b0}};
            else if (pnext[i]) nidx[i*BW +: BW] = idx[i*BW +: BW] + 1'b1;
            seen = seen | pnext[i];
        end
    end
    assign last = &atmax;
    always @* begin
        if (start || (step && last)) nval = init;
        else if (step)
            for (j = 0; j < NO; j = j + 1) nval[j*VW +: VW] = val[j*VW +: VW] + sel[j*VW +: VW];
        else nval = val;
    end

    always @(posedge clk) begin
        if (!rst_n) begin
            idx <= {NP*BW{1'b0}};
            val <= {NO*VW{1'b0}};
        end else if (start || (step && last)) begin
            idx <= {NP*BW{1'b0}};
            val <= init;
        end else if (step) begin
            idx <= nidx;
            for (o = 0; o < NO; o = o + 1)
                val[o*VW +: VW] <= val[o*VW +: VW] + sel[o*VW +: VW];
        end
    end
endmodule
`default_nettype wire
