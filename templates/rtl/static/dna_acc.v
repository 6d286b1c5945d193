// dna_acc: the double-buffered partial-sum register file of one output lane. The compute
// unit accumulates into one slot while the output unit drains the other (reading and
// clearing each word, so a drained slot is all zeros: a first visit needs no init) and
// reloads it with partial sums of a revisited tile.
// Each slot is its own memory with one write port and one (asynchronous) read port, as a
// LUTRAM or register-file compiler builds it: a slot is accumulated into by the compute
// unit or, in the other phase, drained and reloaded by the output unit (never both at
// once), so one writer and one reader suffice. "Cleared" is a flag per word (set by a
// drain and at reset, reset by a write): a flagged word reads as zero.
`default_nettype none
module dna_acc #(
    parameter integer ACCW = 32,
    parameter integer AO = 4     // address bits (2^AO words per slot)
) (
    input  wire            clk,
    input  wire            rst_n,
    input  wire            mac_en,   // acc[co_slot][co_addr] += psum
    input  wire            co_slot,
    input  wire [AO-1:0]   co_addr,
    input  wire [ACCW-1:0] psum,
    input  wire            lw_we,    // reload write
    input  wire            lw_slot,
    input  wire [AO-1:0]   lw_addr,
    input  wire [ACCW-1:0] lw_data,
    input  wire            lr_en,    // drain: read and clear
    input  wire            lr_slot,
    input  wire [AO-1:0]   lr_addr,
    output wire [ACCW-1:0] lr_data
);
    reg [(2<<AO)-1:0] clr;  // {slot, address}: the word reads as zero
    wire [2*ACCW-1:0] q;
    genvar s;
    generate
        for (s = 0; s < 2; s = s + 1) begin : g_slot
            reg [ACCW-1:0] rf [0:(1<<AO)-1];
            // read: the drain's word while it drains this slot, else the compute unit's
            // (the compute unit never accumulates into a slot being drained)
            wire [AO-1:0] ra = (lr_en && lr_slot == s[0]) ? lr_addr : co_addr;
            wire [ACCW-1:0] word = clr[{s[0], ra}] ? {ACCW{1'b0}} : rf[ra];
            assign q[s*ACCW +: ACCW] = word;
            wire mac = mac_en && co_slot == s[0];
            wire rl = lw_we && lw_slot == s[0];
            always @(posedge clk)
                if (mac) rf[co_addr] <= word + psum;
                else if (rl) rf[lw_addr] <= lw_data;
        end
    endgenerate
    assign lr_data = q[lr_slot*ACCW +: ACCW];
    always @(posedge clk) begin
        if (!rst_n) begin
            clr <= {(2<<AO){1'b1}};
        end else begin
            if (mac_en) clr[{co_slot, co_addr}] <= 1'b0;
            if (lw_we) clr[{lw_slot, lw_addr}] <= 1'b0;
            if (lr_en) clr[{lr_slot, lr_addr}] <= 1'b1;
        end
    end
endmodule
`default_nettype wire
