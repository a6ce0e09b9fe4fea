/* cli.h - subcommands of the xaid binary. Each returns the process exit code. */
#ifndef XAID_CLI_H
#define XAID_CLI_H

int cli_info(int argc, char **argv);
int cli_predict(int argc, char **argv);     /* --image: api pipeline; else the raw mode */
int cli_predict_raw(int argc, char **argv); /* --input FILE.bin --shape N,C,H,W */
int cli_models(int argc, char **argv);
int cli_serve(int argc, char **argv);

#endif
