#Missing values marked with '?', headers in mixed case.
@PROBLEMNAME MissingToy
@TimeStamps FALSE
@Missing True
@Univariate true
@EqualLength true
@SeriesLength 4
@ClassLabel TRUE 0 1
@DATA
1,?,3,4:0
?,?,?,?:1
5,6,7,?:1
