// dna_sum: balanced adder tree over N signed W-bit inputs, result OW bits (sign-extended).
`default_nettype none
module dna_sum #(
    parameter integer N = 4,
    parameter integer W = 16,
    parameter integer OW = 32
) (
    input  wire [N*W-1:0] in,
    output wire [OW-1:0]  out
);
    localparam integer L = (N <= 1) ? 0 : $clog2(N);
    localparam integer LEAVES = 1 << L;
    // heap order: node k = node 2k + node 2k+1; split_var lets Verilator schedule the
    // nodes as separate signals (they only look circular as one array)
    wire [OW-1:0] node [1:2*LEAVES-1] /* verilator split_var */;
    genvar k;
    generate
        for (k = 0; k < LEAVES; k = k + 1) begin : g_leaf
            if (k < N) begin : g_in
                assign node[LEAVES + k] = {{(OW-W){in[k*W + W-1]}}, in[k*W +: W]};
            end else begin : g_pad
                assign node[LEAVES + k] = {OW{1'b0}};
            end
        end
        for (k = LEAVES - 1; k >= 1; k = k - 1) begin : g_add
            assign node[k] = node[2*k] + node[2*k + 1];
        end
    endgenerate
    assign out = node[1];
endmodule
`default_nettype wire
