// dna_acc: the double-buffered partial-sum register file of one output lane. The compute
// unit accumulates into one slot while the output unit drains the other (reading and
// clearing each word, so a drained slot is all zeros: a first visit needs no init) and
// reloads it with partial sums of a revisited tile.
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
    reg [ACCW-1:0] rf [0:(2<<AO)-1];  // {slot, address}
    wire [AO:0] ca = {co_slot, co_addr};
    wire [AO:0] wa = {lw_slot, lw_addr};
    wire [AO:0] ra = {lr_slot, lr_addr};
    assign lr_data = rf[ra];
    integer i;
    always @(posedge clk) begin
        if (!rst_n) begin
            for (i = 0; i < (2<<AO); i = i + 1) rf[i] <= {ACCW{1'b0}};
        end else begin
            if (mac_en) rf[ca] <= rf[ca] + psum;
            if (lw_we) rf[wa] <= lw_data;
            if (lr_en) rf[ra] <= {ACCW{1'b0}};
        end
    end
endmodule
`default_nettype wire
