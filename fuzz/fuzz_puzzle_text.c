/* fuzz_puzzle_text - the puzzle text readers: Sudoku collections (plain
 * 81-character lines or question,answer CSV; sudoku_load) and Maze CSV
 * (maze_load). The first byte picks the reader (even: Sudoku, odd: Maze),
 * the rest is the file. */
#include "fuzz_util.h"
#include "tasks/maze.h"
#include "tasks/sudoku.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    trm_err err;
    if (data[0] % 2 == 0) {
        const char *path = fz_write(0, "puzzles.csv", data + 1, size - 1);
        sudoku_set s;
        memset(&s, 0, sizeof s);
        if (sudoku_load(path, &s, &err) == 0) sudoku_set_free(&s);
    } else {
        const char *path = fz_write(0, "mazes.csv", data + 1, size - 1);
        maze_set s;
        memset(&s, 0, sizeof s);
        if (maze_load(path, &s, &err) == 0) maze_set_free(&s);
    }
    return 0;
}
