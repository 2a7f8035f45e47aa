/* cli.h - the subcommands of the trm program. Each returns the exit code. */
#ifndef TRM_CLI_H
#define TRM_CLI_H

int cmd_info(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_forward(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_solve(int argc, char **argv);
int cmd_data(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_render(int argc, char **argv);
/* trm data maze / maze-gen (cmd_data_maze.c); argv[0] is the builder. */
int cmd_data_maze(int argc, char **argv);
int cmd_data_maze_gen(int argc, char **argv);
/* trm data arc (cmd_data_arc.c); argv[0] is the builder. */
int cmd_data_arc(int argc, char **argv);

/* Prints "trm <cmd>: <msg>" on stderr and returns 1 (for `return die(...)`). */
int die(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The one-line error for an option getopt rejected (call from the '?'
 * branch); returns 1. */
int bad_option(const char *cmd, int argc, char **argv);

#endif
